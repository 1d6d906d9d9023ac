"""Job traces (CSV or Parquet) as twin scenarios: one ClusterQueue per team, in one cohort.

A trace has one row per job: when it was submitted, its team, how many GPUs it asks for, how
long it runs and, optionally, its priority. Each team becomes a namespace, a LocalQueue and a
ClusterQueue of the same name with one flavor covering ``nvidia.com/gpu``; each job becomes a
Workload with one pod set ``main`` of one pod. Faults name the row (data rows count from 1,
the header excluded) and the column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from taskgov.errors import Fault, InputError
from taskgov.twin.build import add_queue, cluster_queue, one_pod_workload
from taskgov.twin.objects import Cohort, ResourceFlavor, ResourceQuota, WorkloadSpec
from taskgov.twin.scenario import Scenario

GPU = "nvidia.com/gpu"
MAX_FAULTS = 20
PHILLY_GPUS_PER_NODE = 8


@dataclass(frozen=True, slots=True)
class TraceColumns:
    """Which column holds what; the defaults match ``philly-vc/jobs.csv``.

    Attributes:
        team: the team (namespace, LocalQueue and ClusterQueue name).
        submit: submission time in seconds from the trace's start.
        gpus: GPUs per job (or instances, with ``gpus_per_unit`` of :func:`load_trace`).
        duration: run time in seconds.
        priority: optional; an integer priority or a WorkloadPriorityClass name.
    """

    team: str = "vc"
    submit: str = "arrival_time_s"
    gpus: str = "num_gpus"
    duration: str = "est_duration_s"
    priority: str | None = None


def _read_table(path: Path) -> pl.DataFrame:
    """The file as a DataFrame; CSV cells stay strings so every row is checked the same way."""
    suffix = ".csv" if path.name.lower().endswith(".csv.gz") else path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        message = f"unknown file type {suffix or '(none)'!r}: expected .csv, .csv.gz or .parquet"
        raise InputError([Fault(str(path), "", "", message)])
    try:
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema=False)
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as error:
        message = f"cannot read: {str(error).splitlines()[0]}"
        raise InputError([Fault(str(path), "", "", message)]) from None


def _number(value: Any) -> float | str:
    """The cell as a finite number, or the message saying why it is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "is empty"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f"must be a number, got {value!r}"
    return number if math.isfinite(number) else f"must be a number, got {value!r}"


def _priority(value: Any, classes: Mapping[str, int]) -> tuple[int, str | None] | str:
    """(priority, class name) from a cell, or the message saying why it is not usable."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0, None
    text = str(value).strip()
    if text in classes:
        return classes[text], text
    try:
        number = float(text)
    except ValueError:
        return f"unknown priority class {text!r}"
    if not number.is_integer():
        return f"must be an integer or a priority class name, got {value!r}"
    return int(number), None


def _job(
    row: dict[str, Any],
    columns: TraceColumns,
    classes: Mapping[str, int],
    fault: Callable[[str, str], None],
) -> tuple[str, int, int, int, int, str | None] | None:
    """(team, GPUs, submit ms, run ms, priority, class) of one row, or None after faults."""
    team = "" if row[columns.team] is None else str(row[columns.team]).strip()
    if not team:
        fault(columns.team, "is empty")
    values: dict[str, float] = {}
    for column in (columns.submit, columns.gpus, columns.duration):
        number = _number(row[column])
        if isinstance(number, str):
            fault(column, number)
        elif number < 0:
            fault(column, f"must not be negative, got {row[column]!r}")
        elif column == columns.gpus and not number.is_integer():
            fault(column, f"must be a whole number, got {row[column]!r}")
        else:
            values[column] = number
    priority: tuple[int, str | None] | str = (0, None)
    if columns.priority is not None:
        priority = _priority(row[columns.priority], classes)
        if isinstance(priority, str):
            fault(columns.priority, priority)
    if len(values) < 3 or isinstance(priority, str) or not team:
        return None
    return (
        team,
        int(values[columns.gpus]),
        round(values[columns.submit] * 1000),
        round(values[columns.duration] * 1000),
        *priority,
    )


def load_trace(
    path: str | Path,
    quotas: Mapping[str, int],
    *,
    columns: TraceColumns = TraceColumns(),  # noqa: B008 - frozen, so sharing it is safe
    default_quota: int = 0,
    limit: int | None = None,
    priority_classes: Mapping[str, int] | None = None,
    gpus_per_unit: int = 1,
    cohort: str = "trace",
    flavor: str = "default-flavor",
) -> Scenario:
    """Read a job trace into a twin :class:`Scenario`.

    Every team in the trace or in ``quotas`` gets a ClusterQueue in ``cohort`` with unlimited
    borrowing, ``reclaimWithinCohort: Any`` and ``withinClusterQueue: LowerPriority``. A team
    in the trace without an entry in ``quotas`` gets ``default_quota`` GPUs, which is 0 unless
    the caller says otherwise: it then runs only on GPUs it borrows from the cohort.

    Args:
        path: a ``.csv`` or ``.parquet`` file.
        quotas: nominal GPUs per team.
        columns: the names of the trace's columns.
        default_quota: nominal GPUs of a team missing from ``quotas``.
        limit: keep only the first ``limit`` jobs in submission order (ties in file order).
        priority_classes: WorkloadPriorityClass values for names in the priority column.
        gpus_per_unit: GPUs per unit of the GPU column, e.g. 8 when it counts instances.
        cohort: the cohort's name.
        flavor: the ResourceFlavor's name.

    Returns:
        The scenario, its workloads sorted by submission time.

    Raises:
        InputError: an unknown file type, an unreadable file, a missing column or bad cells;
            each fault names the file, the row (``row N``) and the column, up to 20 faults.
    """
    path = Path(path)
    classes = dict(priority_classes or {})
    jobs = _read_jobs(path, columns, classes)
    jobs = jobs[:limit] if limit is not None else jobs
    teams = sorted({job[0] for job in jobs} | set(quotas))
    scenario = Scenario(priority_classes=classes)
    scenario.flavors[flavor] = ResourceFlavor(flavor)
    scenario.cohorts[cohort] = Cohort(cohort)
    for team in teams:
        nominal = ResourceQuota(quotas.get(team, default_quota), borrowing_limit=None)
        add_queue(scenario, cluster_queue(team, cohort, {flavor: {GPU: nominal}}), team)
        scenario.sources[f"ClusterQueue {team}"] = str(path)
    scenario.workloads += [_workload(job, gpus_per_unit) for job in jobs]
    return scenario


_Job = tuple[str, int, int, int, int, str | None, int]


def _workload(job: _Job, gpus_per_unit: int) -> WorkloadSpec:
    """Job ``job-<row>`` in its team's namespace and LocalQueue (both named as the team)."""
    team, gpus, submit_ms, run_ms, priority, class_name, number = job
    return one_pod_workload(
        team,
        f"job-{number}",
        team,
        {GPU: gpus * gpus_per_unit},
        priority=priority,
        priority_class=class_name,
        submit_at_ms=submit_ms,
        run_for_ms=run_ms,
        document=number,
    )


def _read_jobs(path: Path, columns: TraceColumns, classes: dict[str, int]) -> list[_Job]:
    """The trace's jobs (team, GPUs, submit ms, run ms, priority, class, row) by submission,
    ties in file order.

    Raises:
        InputError: the file cannot be read, lacks a column, or has bad cells (up to 20).
    """
    table = _read_table(path)
    wanted = [columns.team, columns.submit, columns.gpus, columns.duration, columns.priority]
    missing = [c for c in wanted if c is not None and c not in table.columns]
    if missing:
        have = ", ".join(table.columns)
        raise InputError(
            [Fault(str(path), "", c, f"column is missing (the file has: {have})") for c in missing]
        )
    faults: list[Fault] = []
    jobs: list[_Job] = []
    for number, row in enumerate(table.select([c for c in wanted if c]).iter_rows(named=True), 1):

        def fault(column: str, message: str, number: int = number) -> None:
            faults.append(Fault(str(path), f"row {number}", column, message))

        job = _job(row, columns, classes, fault)
        if job is not None:
            jobs.append((*job, number))
        if len(faults) >= MAX_FAULTS:
            break
    if faults:
        raise InputError(faults[:MAX_FAULTS])
    jobs.sort(key=lambda job: (job[2], job[6]))
    return jobs


def philly_quotas(path: str | Path, gpus_per_node: int = PHILLY_GPUS_PER_NODE) -> dict[str, int]:
    """Nominal GPUs per Philly VC from ``philly_vc_nodes.csv`` (columns ``vc``, ``node num``).

    Raises:
        InputError: a missing column or a node count that is not a non-negative integer.
    """
    path = Path(path)
    table = _read_table(path)
    missing = [c for c in ("vc", "node num") if c not in table.columns]
    if missing:
        raise InputError([Fault(str(path), "", c, "column is missing") for c in missing])
    quotas: dict[str, int] = {}
    for number, (vc, nodes) in enumerate(table.select("vc", "node num").iter_rows(), 1):
        count = _number(nodes)
        if isinstance(count, str) or count < 0 or not count.is_integer():
            message = count if isinstance(count, str) else f"must be a whole number, got {nodes!r}"
            raise InputError([Fault(str(path), f"row {number}", "node num", message)])
        quotas[str(vc).strip()] = int(count) * gpus_per_node
    return quotas
