"""The only writer of the DuckDB system of record: batches events, then stores them at once.

``DuckDBSink(path).add(event)`` buffers; ``flush()`` writes the batch in one transaction:

1. stage the batch, one version per event id (exact before inferred, then earliest observed);
2. store the events that are new, or that beat the stored version of their id, so a batch
   delivered twice, or replayed in any order, leaves exactly the same tables;
3. record the Kafka offsets the batch covers (``applied_offsets``), so a restarted worker seeks
   there whatever the broker remembers (see ``spec/local-kafka.md``);
4. refresh the aggregates (``sql/schema/002_aggregates.sql``): the Workloads touched by the batch
   in ``workload_intervals`` and ``workload_waits``, and ``usage_minutes`` from the earliest
   minute the batch can change (a Workload's state at time t depends only on its events <= t).

The statements below are the sink's own; every derivation lives in ``sql/views``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from streams.events import ClusterQueueEvent, DeadLetter, WorkloadEvent
from streams.migrations import SQL_DIR, migrate
from taskgov.errors import TaskgovError

Event = WorkloadEvent | ClusterQueueEvent | DeadLetter

# Above this many Workloads touched by one batch, rebuilding the per-Workload tables whole is
# cheaper than filtering the views by a list of uids.
FULL_REFRESH_UIDS = 20_000

# How the staging statement reads ``WorkloadEvent.model_dump_json()``: one string per event is
# all that crosses from Python (cheap), and DuckDB parses it (fast, without the GIL).
_WORKLOAD_JSON = json.dumps(
    {
        "event_id": "VARCHAR",
        "schema_version": "INTEGER",
        "cluster": "VARCHAR",
        "occurred_at": "VARCHAR",
        "observed_at": "VARCHAR",
        "event_type": "VARCHAR",
        "ordinal": "INTEGER",
        "inferred": "BOOLEAN",
        "namespace": "VARCHAR",
        "name": "VARCHAR",
        "uid": "VARCHAR",
        "team": "VARCHAR",
        "local_queue": "VARCHAR",
        "cluster_queue": "VARCHAR",
        "priority": "INTEGER",
        "priority_class": "VARCHAR",
        "instance_type": "VARCHAR",
        "requests": "MAP(VARCHAR, BIGINT)",
        "accelerators": "BIGINT",
        "reason": "VARCHAR",
        "message": "VARCHAR",
        "preemptor_uid": "VARCHAR",
        "created_at": "VARCHAR",
    }
)


def _utc_sql(text: str) -> str:
    """SQL for a pydantic datetime string as naive UTC: with a zone it is converted, without
    one it is UTC already (as ``_utc`` does), whatever the session's TimeZone."""
    return (
        f"CASE WHEN regexp_matches({text}, '(Z|[+-][0-9][0-9]:?[0-9][0-9])$')"
        f" THEN timezone('UTC', CAST({text} AS TIMESTAMPTZ)) ELSE CAST({text} AS TIMESTAMP) END"
    )


# Built from the constants above only.
_STAGE_WORKLOADS = f"""
CREATE OR REPLACE TEMP TABLE staged_workload_events AS
WITH parsed AS (
    SELECT from_json(doc, '{_WORKLOAD_JSON}') AS e
    FROM (SELECT unnest($events::VARCHAR[]) AS doc)
)
SELECT * FROM (
SELECT
    e.event_id,
    e.schema_version,
    e.cluster,
    {_utc_sql("e.occurred_at")} AS occurred_at,
    {_utc_sql("e.observed_at")} AS observed_at,
    e.event_type,
    e.ordinal,
    e.inferred,
    e.namespace,
    e.name,
    e.uid,
    e.team,
    e.local_queue,
    e.cluster_queue,
    e.priority,
    e.priority_class,
    e.instance_type,
    map_from_entries(list_sort(map_entries(e.requests))) AS requests,
    e.accelerators,
    coalesce(e.requests['cpu'], 0) AS cpu_millis,
    coalesce(e.requests['memory'], 0) AS memory_bytes,
    e.reason,
    e.message,
    e.preemptor_uid,
    {_utc_sql("e.created_at")} AS created_at
FROM parsed
)
QUALIFY row_number() OVER (
    PARTITION BY event_id ORDER BY inferred, observed_at, occurred_at
) = 1
"""  # noqa: S608
# The same when the batch holds each id once (the usual case): no window over the batch.
_STAGE_UNIQUE_WORKLOADS = _STAGE_WORKLOADS[: _STAGE_WORKLOADS.index("QUALIFY")]

# New ids, and ids whose stored version is beaten (exact before inferred, then earliest seen).
_CHANGED_WORKLOADS = """
CREATE OR REPLACE TEMP TABLE changed_workload_events AS
SELECT s.*, e.occurred_at AS stored_occurred_at
FROM staged_workload_events AS s
LEFT JOIN workload_events AS e ON e.event_id = s.event_id
WHERE e.event_id IS NULL
    OR (s.inferred, s.observed_at, s.occurred_at) < (e.inferred, e.observed_at, e.occurred_at)
"""

_STORE_WORKLOADS = (
    """
    DELETE FROM workload_events
    WHERE event_id IN (
        SELECT event_id FROM changed_workload_events WHERE stored_occurred_at IS NOT NULL
    )
    """,
    """
    INSERT INTO workload_events
    SELECT * EXCLUDE (stored_occurred_at) FROM changed_workload_events
    """,
)

_STAGE_CLUSTER_QUEUES = """
CREATE OR REPLACE TEMP TABLE staged_cluster_queue_events AS
SELECT * FROM (
    SELECT
        unnest($position::INTEGER[]) AS position,
        unnest($event_id::VARCHAR[]) AS event_id,
        unnest($schema_version::INTEGER[]) AS schema_version,
        unnest($cluster::VARCHAR[]) AS cluster,
        unnest($occurred_at::TIMESTAMP[]) AS occurred_at,
        unnest($observed_at::TIMESTAMP[]) AS observed_at,
        unnest($event_type::VARCHAR[]) AS event_type,
        unnest($name::VARCHAR[]) AS name,
        unnest($team::VARCHAR[]) AS team,
        unnest($cohort::VARCHAR[]) AS cohort,
        unnest($resource_version::VARCHAR[]) AS resource_version
)
QUALIFY row_number() OVER (
    PARTITION BY event_id ORDER BY observed_at, occurred_at, position
) = 1
"""

_STAGE_QUOTAS = """
CREATE OR REPLACE TEMP TABLE staged_cluster_queue_quotas AS
SELECT
    unnest($position::INTEGER[]) AS position,
    unnest($event_id::VARCHAR[]) AS event_id,
    unnest($flavor::VARCHAR[]) AS flavor,
    unnest($resource::VARCHAR[]) AS resource,
    unnest($nominal::BIGINT[]) AS nominal,
    unnest($borrowing_limit::BIGINT[]) AS borrowing_limit,
    unnest($lending_limit::BIGINT[]) AS lending_limit
"""

_CHANGED_CLUSTER_QUEUES = """
CREATE OR REPLACE TEMP TABLE changed_cluster_queue_events AS
SELECT s.*, e.occurred_at AS stored_occurred_at
FROM staged_cluster_queue_events AS s
LEFT JOIN cluster_queue_events AS e ON e.event_id = s.event_id
WHERE e.event_id IS NULL OR (s.observed_at, s.occurred_at) < (e.observed_at, e.occurred_at)
"""

_STORE_CLUSTER_QUEUES = (
    """
    DELETE FROM cluster_queue_quotas
    WHERE event_id IN (SELECT event_id FROM changed_cluster_queue_events)
    """,
    """
    DELETE FROM cluster_queue_events
    WHERE event_id IN (
        SELECT event_id FROM changed_cluster_queue_events WHERE stored_occurred_at IS NOT NULL
    )
    """,
    """
    INSERT INTO cluster_queue_events
    SELECT * EXCLUDE (position, stored_occurred_at) FROM changed_cluster_queue_events
    """,
    """
    INSERT INTO cluster_queue_quotas
    SELECT q.event_id, q.flavor, q.resource, q.nominal, q.borrowing_limit, q.lending_limit
    FROM staged_cluster_queue_quotas AS q
    JOIN changed_cluster_queue_events AS c ON c.event_id = q.event_id AND c.position = q.position
    """,
)

_STORE_DEAD_LETTERS = """
INSERT INTO dead_letters
SELECT * FROM (
    SELECT
        unnest($dead_letter_id::VARCHAR[]) AS dead_letter_id,
        unnest($schema_version::INTEGER[]) AS schema_version,
        unnest($cluster::VARCHAR[]) AS cluster,
        unnest($kind::VARCHAR[]) AS kind,
        unnest($reason::VARCHAR[]) AS reason,
        unnest($raw::VARCHAR[]) AS raw,
        unnest($observed_at::TIMESTAMP[]) AS observed_at
)
QUALIFY row_number() OVER (PARTITION BY dead_letter_id ORDER BY observed_at) = 1
ON CONFLICT (dead_letter_id) DO UPDATE
    SET observed_at = least(dead_letters.observed_at, excluded.observed_at)
"""

_STORE_OFFSETS = """
INSERT INTO applied_offsets
SELECT unnest($topic::VARCHAR[]), unnest($partition::INTEGER[]), unnest($next_offset::BIGINT[])
ON CONFLICT (topic, topic_partition) DO UPDATE
    SET next_offset = greatest(applied_offsets.next_offset, excluded.next_offset)
"""

_CHANGES = """
SELECT
    (SELECT list(DISTINCT uid) FROM changed_workload_events) AS uids,
    least(
        (SELECT min(least(occurred_at, coalesce(stored_occurred_at, occurred_at)))
         FROM changed_workload_events),
        (SELECT min(least(occurred_at, coalesce(stored_occurred_at, occurred_at)))
         FROM changed_cluster_queue_events)
    ) AS since
"""

_WATERMARK = """
SELECT
    greatest(
        (SELECT max(occurred_at) FROM workload_events),
        (SELECT max(occurred_at) FROM cluster_queue_events)
    ),
    least(
        (SELECT min(occurred_at) FROM workload_events),
        (SELECT min(occurred_at) FROM cluster_queue_events)
    ),
    (SELECT instant FROM aggregate_state WHERE name = 'watermark')
"""

_SET_WATERMARK = """
INSERT OR REPLACE INTO aggregate_state VALUES ('watermark', $watermark::TIMESTAMP)
"""

_REFRESH_SOME_WORKLOADS = (
    "DELETE FROM workload_intervals WHERE list_contains($uids::VARCHAR[], uid)",
    """
    INSERT INTO workload_intervals
    SELECT * FROM v_workload_intervals WHERE list_contains($uids::VARCHAR[], uid)
    """,
    "DELETE FROM workload_waits WHERE list_contains($uids::VARCHAR[], uid)",
    """
    INSERT INTO workload_waits
    SELECT * FROM v_workload_waits WHERE list_contains($uids::VARCHAR[], uid)
    """,
)

_REFRESH_ALL_WORKLOADS = (
    "DELETE FROM workload_intervals",
    "INSERT INTO workload_intervals SELECT * FROM v_workload_intervals",
    "DELETE FROM workload_waits",
    "INSERT INTO workload_waits SELECT * FROM v_workload_waits",
)

# usage_steps must be filled in key and minute order: usage_minutes_from_steps reads it in one
# running pass (see sql/views/usage_minutes_from_steps.sql).
_REFRESH_MINUTES = (
    "DELETE FROM usage_steps",
    """
    INSERT INTO usage_steps
    SELECT * FROM usage_steps_between($since::TIMESTAMP, $until::TIMESTAMP)
    ORDER BY cluster, team, instance_type, minute
    """,
    "DELETE FROM usage_minutes WHERE minute >= date_trunc('minute', $since::TIMESTAMP)",
    "INSERT INTO usage_minutes SELECT * FROM usage_minutes_from_steps($until::TIMESTAMP)",
    "DELETE FROM usage_steps",
)


@dataclass(frozen=True, slots=True)
class SourceOffset:
    """Where an event came from in Kafka."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class FlushResult:
    """What one flush did.

    Attributes:
        events: Workload and ClusterQueue events in the batch.
        stored: of those, ids that were new or replaced a worse stored version.
        dead_letters: dead letters in the batch.
        refreshed_from: the first minute of ``usage_minutes`` rebuilt, or None if none was.
    """

    events: int
    stored: int
    dead_letters: int
    refreshed_from: datetime | None


@dataclass
class SinkError(TaskgovError):
    """A batch could not be written; it stays buffered, so ``flush()`` may be retried.

    Attributes:
        path: the database.
        batch_size: events in the batch.
        cause: the database's error message.
    """

    path: str
    batch_size: int
    cause: str

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"cannot write {self.batch_size} event(s) to {self.path}: {self.cause}"


class DuckDBSink:
    """Batches events and writes them, with what they change, in one transaction per flush.

    Args:
        path: the database file, or ``":memory:"``.
        keep_open: hold the connection between flushes. With False the file is opened for each
            flush and closed after, so other processes (``taskgov report``) can read between.
        sql_dir: the ``sql/`` folder to migrate from.
    """

    def __init__(
        self, path: Path | str, *, keep_open: bool = True, sql_dir: Path = SQL_DIR
    ) -> None:
        self.path = str(path)
        if self.path == ":memory:" and not keep_open:
            raise ValueError("an in-memory database must be kept open")
        self._keep_open = keep_open
        self._workloads: list[WorkloadEvent] = []
        self._cluster_queues: list[ClusterQueueEvent] = []
        self._dead_letters: list[DeadLetter] = []
        self._offsets: dict[tuple[str, int], int] = {}
        self._conn: duckdb.DuckDBPyConnection | None = duckdb.connect(self.path)
        migrate(self._conn, sql_dir=sql_dir)
        if not keep_open:
            self.close()

    def __enter__(self) -> DuckDBSink:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                self.flush()
        finally:
            self.close()

    def __len__(self) -> int:
        return len(self._workloads) + len(self._cluster_queues) + len(self._dead_letters)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The open connection, for reads in this process (opened if needed)."""
        if self._conn is None:
            self._conn = duckdb.connect(self.path)
        return self._conn

    def add(self, event: Event, *, source: SourceOffset | None = None) -> None:
        """Buffer one event until the next :meth:`flush`.

        Args:
            event: a Workload or ClusterQueue event, or a dead letter.
            source: where it was consumed from, recorded with the batch.

        Raises:
            TypeError: ``event`` is none of the three.
        """
        if isinstance(event, WorkloadEvent):
            self._workloads.append(event)
        elif isinstance(event, ClusterQueueEvent):
            self._cluster_queues.append(event)
        elif isinstance(event, DeadLetter):
            self._dead_letters.append(event)
        else:
            raise TypeError(f"cannot store {type(event).__name__}")
        if source is not None:
            key = (source.topic, source.partition)
            self._offsets[key] = max(self._offsets.get(key, 0), source.offset + 1)

    def add_all(self, events: Iterable[Event]) -> None:
        """Buffer several events (without Kafka offsets)."""
        for event in events:
            self.add(event)

    def flush(self, *, watermark: datetime | None = None, stay_open: bool = False) -> FlushResult:
        """Write the buffered batch and refresh the aggregates, in one transaction.

        Args:
            watermark: an instant the aggregates should reach even without events that late
                (e.g. the time of the latest Kafka record, from an injected clock), so quiet
                stretches still count. The watermark never goes back.
            stay_open: with ``keep_open=False``, leave the connection open after this flush
                anyway (the next flush or ``close()`` closes it): when another batch is
                already waiting, closing (a checkpoint) and opening again only costs time.

        Returns:
            What was written.

        Raises:
            SinkError: the transaction failed and was rolled back; the batch is kept.
        """
        events = len(self._workloads) + len(self._cluster_queues)
        if not len(self) and not self._offsets and watermark is None:
            return FlushResult(0, 0, 0, None)
        try:  # opening fails while another process holds the file (e.g. a report)
            conn = self.connection
        except duckdb.Error as error:
            raise SinkError(self.path, len(self), str(error)) from error
        try:
            conn.execute("BEGIN TRANSACTION")
            stored, refreshed_from = self._write(conn, watermark)
            conn.execute("COMMIT")
        except duckdb.Error as error:
            with contextlib.suppress(duckdb.Error):  # a failed COMMIT has rolled back already
                conn.execute("ROLLBACK")
            raise SinkError(self.path, len(self), str(error)) from error
        finally:
            if not self._keep_open and not stay_open:
                # Committed is durable (in the WAL) even if the checkpoint on close fails.
                with contextlib.suppress(duckdb.Error):
                    self.close()
                self._conn = None
        result = FlushResult(events, stored, len(self._dead_letters), refreshed_from)
        self._workloads, self._cluster_queues, self._dead_letters = [], [], []
        self._offsets = {}
        return result

    def discard(self) -> None:
        """Forget the buffered batch (after a failed flush, to write it again in parts)."""
        self._workloads, self._cluster_queues, self._dead_letters = [], [], []
        self._offsets = {}

    def applied_offsets(self) -> dict[tuple[str, int], int]:
        """The next offset to consume per (topic, partition), as committed with the events."""
        rows = self.connection.execute(
            "SELECT topic, topic_partition, next_offset FROM applied_offsets"
        ).fetchall()
        if not self._keep_open:
            self.close()
        return {(str(topic), int(partition)): int(offset) for topic, partition, offset in rows}

    def close(self) -> None:
        """Close the connection (buffered events stay buffered)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _write(
        self, conn: duckdb.DuckDBPyConnection, watermark: datetime | None
    ) -> tuple[int, datetime | None]:
        ids = {e.event_id for e in self._workloads}
        conn.execute(
            _STAGE_WORKLOADS if len(ids) < len(self._workloads) else _STAGE_UNIQUE_WORKLOADS,
            {"events": [e.model_dump_json() for e in self._workloads]},
        )
        conn.execute(_CHANGED_WORKLOADS)
        for statement in _STORE_WORKLOADS:
            conn.execute(statement)
        queues, quotas = _cluster_queue_columns(self._cluster_queues)
        conn.execute(_STAGE_CLUSTER_QUEUES, queues)
        conn.execute(_STAGE_QUOTAS, quotas)
        conn.execute(_CHANGED_CLUSTER_QUEUES)
        for statement in _STORE_CLUSTER_QUEUES:
            conn.execute(statement)
        if self._dead_letters:
            conn.execute(_STORE_DEAD_LETTERS, _dead_letter_columns(self._dead_letters))
        if self._offsets:
            keys = sorted(self._offsets)
            conn.execute(
                _STORE_OFFSETS,
                {
                    "topic": [topic for topic, _ in keys],
                    "partition": [partition for _, partition in keys],
                    "next_offset": [self._offsets[key] for key in keys],
                },
            )
        counted = conn.execute(
            "SELECT (SELECT count(*) FROM changed_workload_events)"
            " + (SELECT count(*) FROM changed_cluster_queue_events)"
        ).fetchone()
        stored = int(counted[0]) if counted else 0
        changes = conn.execute(_CHANGES).fetchone()
        uids: list[str] = list(changes[0] or []) if changes else []
        since: datetime | None = changes[1] if changes else None
        if since is None and watermark is None:
            return stored, None
        chosen = uids if len(uids) <= FULL_REFRESH_UIDS else None
        return stored, _refresh(conn, chosen, since, watermark and _utc(watermark))


def rebuild_aggregates(conn: duckdb.DuckDBPyConnection) -> datetime | None:
    """Rebuild every aggregate from the event log, e.g. after loading events in bulk.

    Args:
        conn: a migrated, writable connection; the caller owns the transaction, if any.

    Returns:
        The first minute rebuilt, or None when the log is empty.
    """
    return _refresh(conn, None, None, None, rebuild=True)


def _refresh(
    conn: duckdb.DuckDBPyConnection,
    uids: list[str] | None,
    since: datetime | None,
    clock: datetime | None,
    *,
    rebuild: bool = False,
) -> datetime | None:
    """Refresh the per-Workload tables for ``uids`` (None: all), and minutes from ``since`` on.

    The watermark moves to the latest event or ``clock``, whichever is later, never back;
    minutes are refreshed from ``since`` or the previous watermark, whichever is earlier
    (from the first event when ``rebuild``).
    """
    row = conn.execute(_WATERMARK).fetchone()
    latest, earliest, previous = row if row else (None, None, None)
    if latest is None:
        for statement in (*_REFRESH_ALL_WORKLOADS, "DELETE FROM usage_minutes"):
            conn.execute(statement)
        conn.execute("DELETE FROM aggregate_state WHERE name = 'watermark'")
        return None
    watermark = max(t for t in (latest, previous, clock) if t is not None)
    conn.execute(_SET_WATERMARK, {"watermark": watermark})
    if uids is None or rebuild:
        for statement in _REFRESH_ALL_WORKLOADS:
            conn.execute(statement)
    elif uids:
        for statement in _REFRESH_SOME_WORKLOADS:
            conn.execute(statement, {"uids": uids})
    starts = (earliest, previous) if rebuild else (since, previous)
    start: datetime = min(t for t in (*starts, watermark) if t is not None)
    params = {"since": start, "until": watermark}
    for statement in _REFRESH_MINUTES:
        conn.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})
    return start.replace(second=0, microsecond=0)


def _utc(moment: datetime) -> datetime:
    """A naive UTC datetime (naive input is taken as UTC already)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _cluster_queue_columns(
    events: list[ClusterQueueEvent],
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    queues: dict[str, list[Any]] = {
        "position": list(range(len(events))),
        "event_id": [e.event_id for e in events],
        "schema_version": [e.schema_version for e in events],
        "cluster": [e.cluster for e in events],
        "occurred_at": [_utc(e.occurred_at) for e in events],
        "observed_at": [_utc(e.observed_at) for e in events],
        "event_type": [e.event_type for e in events],
        "name": [e.name for e in events],
        "team": [e.team for e in events],
        "cohort": [e.cohort for e in events],
        "resource_version": [e.resource_version for e in events],
    }
    lines = [(i, e, q) for i, e in enumerate(events) for q in e.quotas]
    quotas: dict[str, list[Any]] = {
        "position": [i for i, _, _ in lines],
        "event_id": [e.event_id for _, e, _ in lines],
        "flavor": [q.flavor for _, _, q in lines],
        "resource": [q.resource for _, _, q in lines],
        "nominal": [q.nominal for _, _, q in lines],
        "borrowing_limit": [q.borrowing_limit for _, _, q in lines],
        "lending_limit": [q.lending_limit for _, _, q in lines],
    }
    return queues, quotas


def _dead_letter_columns(letters: list[DeadLetter]) -> dict[str, list[Any]]:
    return {
        "dead_letter_id": [dead_letter_id(d) for d in letters],
        "schema_version": [d.schema_version for d in letters],
        "cluster": [d.cluster for d in letters],
        "kind": [d.kind for d in letters],
        "reason": [d.reason for d in letters],
        "raw": [d.raw for d in letters],
        "observed_at": [_utc(d.observed_at) for d in letters],
    }


def dead_letter_id(letter: DeadLetter) -> str:
    """The id a dead letter is stored under: the same record redelivered is stored once."""
    text = f"{letter.cluster}\n{letter.kind}\n{letter.reason}\n{letter.raw}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]
