"""The worker's sink: batches events, then has the store write them at once.

``DuckDBSink(path).add(event)`` buffers; ``flush()`` turns the batch into columns and writes it
in one transaction through :func:`taskgov.store.event_log.write_batch` (the event log, the
Kafka offsets the batch covers, and the aggregates it changes). The sink is the worker's
handle on the store: it migrates the database as its owner when it opens it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from streams.events import ClusterQueueEvent, DeadLetter, WorkloadEvent
from taskgov.errors import TaskgovError
from taskgov.store import (
    SQL_DIR,
    Connection,
    QueryError,
    audit_aggregates,
    connect_read_write,
    is_database_fault,
    migrate,
    transaction,
)
from taskgov.store.aggregates import log_audit_needs_whole
from taskgov.store.event_log import EventBatch, applied_offsets, write_batch
from taskgov.store.topic_ids import TopicIdChange, reconcile_topic_ids

Event = WorkloadEvent | ClusterQueueEvent | DeadLetter
T = TypeVar("T")


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
        database_at_fault: the database failed (opening it, a lock, the disk, a conflict), not
            the records: the same write may succeed later.
    """

    path: str
    batch_size: int
    cause: str
    database_at_fault: bool = True

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
        self._conn: Connection | None = connect_read_write(self.path, lock_wait_s=0)
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
    def connection(self) -> Connection:
        """The open connection, for reads in this process (opened if needed).

        Raises:
            DatabaseError: another process holds the file.
        """
        if self._conn is None:
            self._conn = connect_read_write(self.path, lock_wait_s=0)
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
        except TaskgovError as error:
            raise SinkError(self.path, len(self), str(error)) from error
        try:
            with transaction(conn):
                clock = watermark and _utc(watermark)
                stored, refreshed_from = write_batch(conn, self._batch(), clock)
        except QueryError as error:
            transient = is_database_fault(error)
            raise SinkError(self.path, len(self), str(error), transient) from error
        finally:
            if not self._keep_open and not stay_open:
                self._close_quietly()
        result = FlushResult(events, stored, len(self._dead_letters), refreshed_from)
        self._workloads, self._cluster_queues, self._dead_letters = [], [], []
        self._offsets = {}
        return result

    def discard(self) -> None:
        """Forget the buffered batch (after a failed flush, to write it again in parts)."""
        self._workloads, self._cluster_queues, self._dead_letters = [], [], []
        self._offsets = {}

    def applied_offsets(self) -> dict[tuple[str, int], int]:
        """The next offset to consume per (topic, partition), as committed with the events.

        Raises:
            SinkError: the database could not be opened or read.
        """
        return self._between_flushes(applied_offsets)

    def reconcile_topic_ids(
        self, broker_ids: Mapping[str, str], read_topics: Collection[str]
    ) -> list[TopicIdChange]:
        """The topics read from that the broker now holds under another id; the ids are
        recorded when none changed (:func:`taskgov.store.topic_ids.reconcile_topic_ids`).

        Raises:
            SinkError: the database could not be opened or written.
        """
        seen_at = datetime.now(UTC).replace(tzinfo=None)
        return self._between_flushes(
            lambda conn: reconcile_topic_ids(conn, broker_ids, read_topics, seen_at)
        )

    def audit_aggregates(self) -> list[tuple[object, ...]] | None:
        """The incremental audit of the aggregates against the log
        (:func:`taskgov.store.audit_aggregates`): a pass is recorded, and the changes it
        covered forgotten, only when it finds no rows.

        Returns:
            The audit's rows, or None when only a whole audit could run (no pass recorded, or
            a rebuild since): that costs the history, so it is left to ``taskgov audit``.

        Raises:
            SinkError: the database could not be opened, read or written.
        """

        def incremental(conn: Connection) -> list[tuple[object, ...]] | None:
            return None if log_audit_needs_whole(conn) else audit_aggregates(conn)

        return self._between_flushes(incremental)

    def _between_flushes(self, call: Callable[[Connection], T]) -> T:
        """``call`` on this writer's connection, between two flushes (closed after it unless
        ``keep_open``); a failure to open or run it is a :class:`SinkError`."""
        try:
            return call(self.connection)
        except (TaskgovError, QueryError) as error:
            raise SinkError(self.path, len(self), str(error)) from error
        finally:
            if not self._keep_open:
                self._close_quietly()

    def close(self) -> None:
        """Close the connection (buffered events stay buffered)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _close_quietly(self) -> None:
        # Committed is durable (in the WAL) even if the checkpoint on close fails.
        try:
            self.close()
        except QueryError:
            self._conn = None

    def _batch(self) -> EventBatch:
        ids = {e.event_id for e in self._workloads}
        queues, quotas = _cluster_queue_rows(self._cluster_queues)
        keys = sorted(self._offsets)
        return EventBatch(
            workload_events=[e.model_dump_json() for e in self._workloads],
            repeats_ids=len(ids) < len(self._workloads),
            cluster_queues=queues,
            quotas=quotas,
            dead_letters=_dead_letter_rows(self._dead_letters),
            offsets={
                "topic": [topic for topic, _ in keys],
                "partition": [partition for _, partition in keys],
                "next_offset": [self._offsets[key] for key in keys],
            }
            if keys
            else {},
        )


def _utc(moment: datetime) -> datetime:
    """A naive UTC datetime (naive input is taken as UTC already)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _cluster_queue_rows(
    events: list[ClusterQueueEvent],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The events as rows of ``cluster_queue_events``, and their quota lines as rows of
    ``cluster_queue_quotas``, each with its event's place in the batch."""
    queues = [
        {
            **e.model_dump(exclude={"kind", "quotas"}),
            "occurred_at": _utc(e.occurred_at),
            "observed_at": _utc(e.observed_at),
            "position": i,
        }
        for i, e in enumerate(events)
    ]
    quotas = [
        {**q.model_dump(), "event_id": e.event_id, "position": i}
        for i, e in enumerate(events)
        for q in e.quotas
    ]
    return queues, quotas


def _dead_letter_rows(letters: list[DeadLetter]) -> list[dict[str, Any]]:
    """The letters as rows of ``dead_letters``."""
    return [
        {**d.model_dump(), "dead_letter_id": dead_letter_id(d), "observed_at": _utc(d.observed_at)}
        for d in letters
    ]


def dead_letter_id(letter: DeadLetter) -> str:
    """The id a dead letter is stored under: the same record redelivered is stored once."""
    text = f"{letter.cluster}\n{letter.kind}\n{letter.reason}\n{letter.raw}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]
