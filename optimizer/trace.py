"""A job trace as a :class:`optimizer.demand.DemandSource`.

A trace records what was asked (submission, accelerators, run time), not what the cluster
did. The twin stands in for the cluster: the trace is replayed under the current policy and
the twin's admissions, finishes and preemptions become the recorded history. The trace is
read by ``taskgov.twin.trace.load_trace`` (its columns, checks and faults); every job runs on
one instance type, since a trace names none.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from optimizer.openb import is_openb, read_openb
from optimizer.replay import WORKLOAD_COLUMNS, replay
from taskgov.errors import Fault, InputError
from taskgov.policy.model import Cluster, Policy
from taskgov.twin.trace import TraceColumns, load_trace


def trace_instance_type(cluster: Cluster, instance_type: str | None) -> str:
    """The instance type a trace's jobs run on: the given one, or the cluster's only one.

    Raises:
        InputError: none given and the cluster has several, or the type is not in it.
    """
    types = list(cluster.instance_counts())
    if instance_type is None:
        if len(types) == 1:
            return types[0]
        message = f"the cluster has {len(types)} instance types ({', '.join(types)}): name one"
        raise InputError([Fault("--instance-type", "", "", message)])
    if instance_type not in types:
        message = f"{instance_type} is not in cluster {cluster.name} ({', '.join(types)})"
        raise InputError([Fault("--instance-type", "", "", message)])
    return instance_type


def read_trace(
    path: str | Path,
    *,
    instance_type: str,
    columns: TraceColumns = TraceColumns(),  # noqa: B008 - frozen, so sharing it is safe
    limit: int | None = None,
) -> pl.DataFrame:
    """The trace's jobs as workloads (:data:`optimizer.replay.WORKLOAD_COLUMNS`).

    An Alibaba PAI ``openb`` pod list (``optimizer.openb``) is recognised by its columns;
    any other file is read by ``taskgov.twin.trace.load_trace`` with ``columns``.

    Raises:
        InputError: the file or a cell is bad (named by file, row and column).
    """
    if is_openb(path):
        return read_openb(path, instance_type=instance_type, limit=limit)
    scenario = load_trace(path, {}, columns=columns, limit=limit)
    rows = [
        (
            spec.namespace,
            instance_type,
            sum(spec.pod_sets[0].requests.values()),
            spec.submit_at_ms / 1000,
            (spec.run_for_ms or 0) / 1000,
            spec.priority_class,
        )
        for spec in scenario.workloads
    ]
    return pl.DataFrame(rows, schema=WORKLOAD_COLUMNS, orient="row")


class TraceDemandSource:
    """Recorded jobs of a trace: the trace replayed on the twin under the current policy."""

    def __init__(
        self,
        path: str | Path,
        policy: Policy,
        cluster: Cluster,
        *,
        instance_type: str | None = None,
        columns: TraceColumns = TraceColumns(),  # noqa: B008 - frozen, so sharing it is safe
        limit: int | None = None,
    ) -> None:
        """Read the trace now; replay it the first time jobs are asked for.

        Raises:
            InputError: a bad trace or an instance type the cluster lacks.
        """
        self.policy = policy
        self.cluster = cluster
        self.workloads = read_trace(
            path,
            instance_type=trace_instance_type(cluster, instance_type),
            columns=columns,
            limit=limit,
        )
        self._history: pl.DataFrame | None = None

    def jobs(self, *, since_s: float | None = None) -> pl.DataFrame:
        """Jobs submitted at or after ``since_s``, as the twin ran them under today's policy."""
        if self._history is None:
            self._history = replay(
                self.workloads, self.policy, self.cluster, name="current"
            ).history
        if since_s is None:
            return self._history
        return self._history.filter(pl.col("submit_s") >= since_s)
