"""The recorded history in DuckDB as a :class:`optimizer.demand.DemandSource`.

One row per Kueue Workload of one recorded cluster, read from what the sink keeps
(``sql/schema``): the event log ``workload_events`` and the materialized
``workload_intervals``:

- ``submit_s``: the Workload's creation (as ``workload_waits`` starts its initial wait);
- ``start_s``: its first ``admitted`` event; null if it was never admitted;
- ``end_s``: its first ``finished`` or ``deleted`` event; null while it is still there;
- ``run_s``: from its last admission to ``finished`` (a preempted job starts over, as in the
  twin); null unless it finished;
- ``preemptions``: its ``preempted`` events;
- ``instance_type``: the flavor it was admitted on, else the one Kueue last named in a pending
  message (``workload_intervals``' rule), else its team's only instance type, else the
  cluster's; jobs still without one are left out and counted in :attr:`unplaced`;
- ``priority_class``: the policy's class name (``<name>-priority`` in Kueue maps back);
- ``team``, ``accelerators``: as the Workload's latest event states them.

Seconds count from a stated origin (default: the first recorded submission of the cluster),
so ``origin + timedelta(seconds=submit_s)`` is the instant. The database is opened read-only
for each query and closed after, so the worker can write between.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from optimizer.demand import JOB_COLUMNS, OPTIONAL_COLUMNS
from taskgov.errors import DatabaseError, Fault, InputError

# Tables the history is read from; a database without them was not written by the sink.
REQUIRED_TABLES = ("workload_events", "workload_intervals", "aggregate_state")
# How long to wait for another process (the worker's sink flushing) to let go of the file.
LOCK_WAIT_S = 10.0

_CLUSTERS = """
SELECT cluster, min(created_at), max(occurred_at), count(DISTINCT uid)
FROM workload_events
GROUP BY cluster
ORDER BY cluster
"""

_WATERMARK = "SELECT instant FROM aggregate_state WHERE name = 'watermark'"

_JOBS = """
WITH lives AS (
    SELECT
        uid,
        min(namespace) AS namespace,
        min(name) AS name,
        arg_max(team, occurred_at) AS team,
        arg_max(accelerators, occurred_at) AS accelerators,
        arg_max(priority_class, occurred_at) AS priority_class,
        arg_max(instance_type, occurred_at) FILTER (
            WHERE event_type = 'admitted' AND instance_type IS NOT NULL
        ) AS admitted_type,
        min(created_at) AS submitted_at,
        min(occurred_at) FILTER (WHERE event_type = 'admitted') AS started_at,
        max(occurred_at) FILTER (WHERE event_type = 'admitted') AS last_admitted_at,
        min(occurred_at) FILTER (WHERE event_type IN ('finished', 'deleted')) AS ended_at,
        min(occurred_at) FILTER (WHERE event_type = 'finished') AS finished_at,
        count(*) FILTER (WHERE event_type = 'preempted') AS preemptions
    FROM workload_events
    WHERE cluster = $cluster
    GROUP BY uid
),
named AS (
    SELECT uid, arg_max(instance_type, start_at) AS known_type
    FROM workload_intervals
    WHERE cluster = $cluster AND instance_type IS NOT NULL
    GROUP BY uid
)
SELECT
    l.team,
    coalesce(l.admitted_type, n.known_type) AS instance_type,
    l.accelerators,
    date_diff('microsecond', $origin::TIMESTAMP, l.submitted_at) / 1e6 AS submit_s,
    date_diff('microsecond', $origin::TIMESTAMP, l.started_at) / 1e6 AS start_s,
    date_diff('microsecond', $origin::TIMESTAMP, l.ended_at) / 1e6 AS end_s,
    l.priority_class,
    l.preemptions,
    CASE WHEN l.finished_at IS NOT NULL AND l.last_admitted_at <= l.finished_at
        THEN date_diff('microsecond', l.last_admitted_at, l.finished_at) / 1e6
    END AS run_s
FROM lives AS l
LEFT JOIN named AS n USING (uid)
WHERE $since::TIMESTAMP IS NULL OR l.submitted_at >= $since::TIMESTAMP
ORDER BY l.submitted_at, l.namespace, l.name, l.uid
"""

_SCHEMA: dict[str, Any] = {**JOB_COLUMNS, **OPTIONAL_COLUMNS}
_SELECTED = [
    "team",
    "instance_type",
    "accelerators",
    "submit_s",
    "start_s",
    "end_s",
    "priority_class",
    "preemptions",
    "run_s",
]


@dataclass(frozen=True, slots=True)
class RecordedCluster:
    """One cluster of the database: its first submission, last event and Workloads."""

    name: str
    first_submitted_at: datetime
    last_event_at: datetime
    workloads: int


def naive_utc(moment: datetime) -> datetime:
    """``moment`` as naive UTC, as DuckDB stores times (naive input is taken as UTC)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def connect(
    path: Path, *, read_only: bool, lock_wait_s: float = LOCK_WAIT_S
) -> duckdb.DuckDBPyConnection:
    """A connection to ``path``, waiting up to ``lock_wait_s`` while another process holds it.

    Raises:
        InputError: ``read_only`` and there is no file at ``path``, or it is no DuckDB database.
        DatabaseError: the file stays locked by another process.
    """
    if read_only and not path.is_file():
        raise InputError([Fault("--db", str(path), "", "no such database")])
    deadline = time.monotonic() + lock_wait_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            first = str(error).splitlines()[0]
            if "lock" not in first.lower():
                raise InputError([Fault("--db", str(path), "", f"cannot open: {first}")]) from None
            if time.monotonic() >= deadline:
                raise DatabaseError(str(path), f"locked by another process: {first}") from None
            time.sleep(0.1)
        except duckdb.Error as error:
            first = str(error).splitlines()[0]
            raise InputError([Fault("--db", str(path), "", f"cannot open: {first}")]) from None


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a database the sink wrote.

    Raises:
        InputError: there is no file at ``path``, it is not a DuckDB database, or it lacks the
            sink's tables (named).
        DatabaseError: the file stays locked by another process.
    """
    conn = connect(path, read_only=True)
    found = {
        str(row[0])
        for row in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    missing = [t for t in REQUIRED_TABLES if t not in found]
    if missing:
        conn.close()
        message = (
            f"not a taskgov database: it lacks {', '.join(missing)} "
            "(the worker creates them: taskgov worker)"
        )
        raise InputError([Fault("--db", str(path), "", message)])
    return conn


def recorded_clusters(path: Path) -> list[RecordedCluster]:
    """The clusters with Workload events in the database, by name.

    Raises:
        InputError: see :func:`connect_read_only`.
    """
    conn = connect_read_only(path)
    try:
        rows = conn.execute(_CLUSTERS).fetchall()
    finally:
        conn.close()
    return [RecordedCluster(str(c), first, last, int(n)) for c, first, last, n in rows]


class HistoryDemandSource:
    """Recorded jobs of one cluster in a DuckDB database written by the sink.

    Attributes:
        path: the database file.
        cluster: the recorded cluster (the watcher's ``cluster`` label).
        origin: the instant (naive UTC) that ``*_s`` seconds count from.
        watermark: the latest instant the aggregates were built to (naive UTC).
        unplaced: per team, jobs of the last :meth:`jobs` call left out for want of an
            instance type.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        cluster: str | None = None,
        origin: datetime | None = None,
        priority_classes: Mapping[str, str] | None = None,
        team_instance_types: Mapping[str, str] | None = None,
        instance_type: str | None = None,
    ) -> None:
        """Check the database and pick the cluster; jobs are read when asked for.

        Args:
            path: the DuckDB file.
            cluster: which recorded cluster; may be left out when the database holds one.
            origin: the instant seconds count from; default the cluster's first submission.
            priority_classes: Kueue WorkloadPriorityClass name -> the policy's class name;
                names not listed are kept as recorded.
            team_instance_types: the instance type of a team's jobs that never named one
                (e.g. the only type of its ComputeQuota).
            instance_type: the instance type of any other job that never named one (e.g. the
                cluster's only type).

        Raises:
            InputError: no database, not one the sink wrote, no Workloads recorded, or the
                cluster is not named when several are recorded, or not recorded.
        """
        self.path = Path(path)
        clusters = {c.name: c for c in recorded_clusters(self.path)}
        where = str(self.path)
        if not clusters:
            raise InputError(
                [Fault("--db", where, "", "no recorded jobs: the database holds no Workloads")]
            )
        names = ", ".join(clusters)
        if cluster is None:
            if len(clusters) > 1:
                message = f"records {len(clusters)} clusters ({names}): name one with --cluster"
                raise InputError([Fault("--db", where, "", message)])
            cluster = next(iter(clusters))
        if cluster not in clusters:
            message = f"no recorded jobs of cluster {cluster} (recorded: {names})"
            raise InputError([Fault("--cluster", where, "", message)])
        recorded = clusters[cluster]
        self.cluster = cluster
        self.origin = naive_utc(origin) if origin else recorded.first_submitted_at
        self.watermark = self._watermark() or recorded.last_event_at
        self.priority_classes = dict(priority_classes or {})
        self.team_instance_types = dict(team_instance_types or {})
        self.instance_type = instance_type
        self.unplaced: dict[str, int] = {}
        self._cache: dict[float | None, pl.DataFrame] = {}

    def instant(self, seconds: float) -> datetime:
        """The instant (naive UTC) ``seconds`` after the origin."""
        return self.origin + timedelta(seconds=seconds)

    def seconds(self, moment: datetime) -> float:
        """Seconds from the origin to ``moment`` (naive input is UTC)."""
        return (naive_utc(moment) - self.origin).total_seconds()

    def jobs(self, *, since_s: float | None = None) -> pl.DataFrame:
        """Jobs submitted at or after ``since_s`` (seconds from the origin; all when None).

        Raises:
            InputError: no job of the cluster was submitted since then.
        """
        if since_s not in self._cache:
            self._cache[since_s] = self._read(since_s)
        return self._cache[since_s]

    def _watermark(self) -> datetime | None:
        conn = connect_read_only(self.path)
        try:
            row = conn.execute(_WATERMARK).fetchone()
        finally:
            conn.close()
        return row[0] if row else None

    def _read(self, since_s: float | None) -> pl.DataFrame:
        since = None if since_s is None else self.instant(since_s)
        conn = connect_read_only(self.path)
        try:
            rows = conn.execute(
                _JOBS, {"cluster": self.cluster, "origin": self.origin, "since": since}
            ).fetchall()
        finally:
            conn.close()
        frame = pl.DataFrame(rows, schema={name: _SCHEMA[name] for name in _SELECTED}, orient="row")
        placed = frame.with_columns(
            priority_class=pl.col("priority_class").replace(self.priority_classes),
            instance_type=pl.coalesce(
                pl.col("instance_type"),
                pl.col("team").replace_strict(
                    self.team_instance_types, default=None, return_dtype=pl.String
                ),
                pl.lit(self.instance_type, pl.String),
            ),
        )
        left_out = placed.filter(pl.col("instance_type").is_null())
        self.unplaced = dict(
            left_out.group_by("team").len().sort("team").iter_rows()  # type: ignore[arg-type]
        )
        jobs = placed.filter(pl.col("instance_type").is_not_null())
        if jobs.is_empty():
            when = "" if since is None else f" submitted since {since.isoformat(sep=' ')}"
            unplaced = (
                f" ({left_out.height} never named an instance type)" if left_out.height else ""
            )
            message = f"no recorded jobs of cluster {self.cluster}{when}{unplaced}"
            raise InputError([Fault("--db", str(self.path), "", message)])
        return jobs
