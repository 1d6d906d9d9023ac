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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from optimizer.demand import JOB_COLUMNS, OPTIONAL_COLUMNS
from taskgov.errors import Fault, InputError
from taskgov.store import LOCK_WAIT_S, Connection, sql_text, watermark
from taskgov.store import connect_read_only as _connect_read_only

# Tables the history is read from; a database without them was not written by the sink.
REQUIRED_TABLES = ("workload_events", "workload_intervals", "aggregate_state")
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


def connect_read_only(path: Path, *, lock_wait_s: float = LOCK_WAIT_S) -> Connection:
    """A read-only connection to a database the sink wrote.

    Raises:
        InputError: there is no file at ``path``, it is not a DuckDB database, or it lacks the
            sink's tables (named).
        DatabaseError: the file stays locked by another process.
    """
    return _connect_read_only(path, lock_wait_s=lock_wait_s, require_tables=REQUIRED_TABLES)


def recorded_clusters(path: Path) -> list[RecordedCluster]:
    """The clusters with Workload events in the database, by name.

    Raises:
        InputError: see :func:`connect_read_only`.
    """
    conn = connect_read_only(path)
    try:
        rows = conn.execute(sql_text("history/clusters.sql")).fetchall()
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
            return watermark(conn)
        finally:
            conn.close()

    def _read(self, since_s: float | None) -> pl.DataFrame:
        since = None if since_s is None else self.instant(since_s)
        conn = connect_read_only(self.path)
        try:
            rows = conn.execute(
                sql_text("history/jobs.sql"),
                {"cluster": self.cluster, "origin": self.origin, "since": since},
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
