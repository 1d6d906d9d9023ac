"""Record a twin run into DuckDB the way production does: watch, normalize, sink.

The twin plays the workloads under a policy; after every instant it changed, each Workload it
touched is rendered as the API server would serve it and turned into wire events by the
watcher's own ``normalize_workload`` (ClusterQueues by ``normalize_cluster_queue``); the real
``DuckDBSink`` stores them and refreshes the aggregates. Nothing of DuckDB is faked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from optimizer.replay import scenario_for
from streams.events import ClusterQueueEvent, WorkloadEvent
from streams.normalize import WorkloadMemory, normalize_cluster_queue, normalize_workload
from streams.sink_duckdb import DuckDBSink
from taskgov.policy.compile import compile_policy
from taskgov.policy.model import Cluster, Policy
from taskgov.twin.engine import Twin
from taskgov.twin.render import EPOCH, workload_manifest

# The instant the twin's clock starts at, naive UTC as DuckDB stores it.
ORIGIN = EPOCH.astimezone(UTC).replace(tzinfo=None)
CLUSTER = "test-cluster"


def watched_events(
    workloads: pl.DataFrame,
    policy: Policy,
    cluster: Cluster,
    *,
    cluster_name: str = CLUSTER,
    epoch: datetime = EPOCH,
) -> list[WorkloadEvent | ClusterQueueEvent]:
    """The events a watcher that saw every instant of the twin run would send."""
    events: list[WorkloadEvent | ClusterQueueEvent] = []
    for obj in compile_policy(policy, cluster, f"Policy {policy.name}"):
        if obj["kind"] == "ClusterQueue":
            manifest = {**obj, "metadata": {**obj["metadata"], "resourceVersion": "1"}}
            events.append(normalize_cluster_queue(manifest, cluster_name, epoch))
    twin = Twin(scenario_for(workloads, policy, cluster))
    memory: dict[str, WorkloadMemory] = {}
    published_runs = published_ledger = 0
    while (next_ms := twin.next_event_ms()) is not None:
        twin.run(next_ms)
        changed = dict.fromkeys(twin.submitted[published_runs:])
        changed.update(dict.fromkeys(c.workload for c in twin.ledger[published_ledger:]))
        published_runs, published_ledger = len(twin.submitted), len(twin.ledger)
        seen = epoch + timedelta(milliseconds=next_ms)
        for key in changed:
            run = twin.runs[key]
            remembered = memory.setdefault(run.spec.uid, WorkloadMemory())
            manifest = workload_manifest(run, epoch=epoch)
            events.extend(normalize_workload(manifest, cluster_name, seen, remembered))
    return events


def record(
    path: Path,
    workloads: pl.DataFrame,
    policy: Policy,
    cluster: Cluster,
    *,
    cluster_name: str = CLUSTER,
) -> Path:
    """Store the watched twin run in the DuckDB file ``path`` through the real sink."""
    with DuckDBSink(path) as sink:
        sink.add_all(watched_events(workloads, policy, cluster, cluster_name=cluster_name))
    return path
