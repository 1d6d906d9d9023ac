"""The agents that turn the watcher's records into rows of the DuckDB system of record.

Aggregation itself is SQL over the event log (``sql/views``), refreshed by the sink on each
flush, so the numbers are the same whether the events arrive once, twice or out of order.

The consumer hands each topic's records over in batches (``streams.app.RecordBatch``); the
agent parses a batch (``streams.agents.records``: every record becomes an event or a dead
letter), and the writer stores it in one sink transaction together with the next offset of
each partition it covers (``applied_offsets``, where a restarted worker seeks); only then are
its records acked. The DuckDB work runs in a thread, so the next batch is fetched and parsed
meanwhile.

A write that fails because of the database (its file locked, the disk full) is retried with
the batch kept, and nothing later is written before it. A write the database refuses because
of what is in it (a value no column holds, a key twice) is split in halves, and the halves
again, down to the records it refuses: those become dead letters with the database's reason,
the others are stored once, and the worker moves on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import faust
from faust.types import Message
from mode import CrashingSupervisor

from streams.agents.records import Record, TimeWindow, parse_batch, position, refused
from streams.app import TOPIC_KINDS, RecordBatch, WorkerApp, WorkerSettings
from streams.sink_duckdb import DuckDBSink, FlushResult, SinkError
from taskgov.store.topic_ids import TopicIdChange

log = logging.getLogger("taskgov.worker")

MAX_RETRY_S = 30.0
# Batches parsed and handed to the writer, not yet stored: one being written, one waiting.
WRITES_IN_FLIGHT = 2
T = TypeVar("T")


class BatchWriter:
    """Writes the agents' batches through one sink, a batch per transaction, in a thread.

    Args:
        sink: the only DuckDB writer.
        retry_s: the first wait after a failed write; it doubles up to ``MAX_RETRY_S``.
        window: when events may have happened; others are dead letters.
    """

    def __init__(
        self, sink: DuckDBSink, retry_s: float = 0.5, window: TimeWindow | None = None
    ) -> None:
        self.sink = sink
        self.retry_s = retry_s
        self.window = window or TimeWindow()
        self.batches = 0
        self.records = 0
        self._lock: asyncio.Lock | None = None
        # Held by whichever thread uses the sink, so close() waits for a write in progress.
        self._using_sink = threading.Lock()

    @property
    def lock(self) -> asyncio.Lock:
        """Held from adding a batch to the sink until it is written (made in the running loop)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def applied_offsets(self) -> dict[tuple[str, int], int]:
        """DuckDB's next offset per (topic, partition), once no batch is being written."""
        return await self._when_idle(self.sink.applied_offsets, "offsets_unreadable")

    async def topic_ids_changed(
        self, broker_ids: Mapping[str, str], read_topics: Collection[str]
    ) -> list[TopicIdChange]:
        """The topics read from whose id changed; the ids recorded when none did
        (:meth:`DuckDBSink.reconcile_topic_ids`), once no batch is being written."""
        return await self._when_idle(
            lambda: self.sink.reconcile_topic_ids(broker_ids, read_topics), "topic_ids_unreadable"
        )

    async def audit_aggregates(self) -> list[tuple[object, ...]] | None:
        """The sink's incremental audit of the aggregates (:meth:`DuckDBSink.audit_aggregates`;
        None: only a whole audit could run, so none ran) once no batch is being written;
        batches wait while it runs. Not retried: the next scheduled audit covers the same
        changes.

        Raises:
            SinkError: the database could not be opened, read or written.
        """
        async with self.lock:
            return await asyncio.to_thread(self._in_thread, self.sink.audit_aggregates)

    async def _when_idle(self, call: Callable[[], T], event: str) -> T:
        """``call`` on the sink's thread once no batch is being written, retried (with
        backoff, one ``event`` line each time) while the database cannot be read."""
        wait = self.retry_s
        async with self.lock:
            while True:
                try:
                    return await asyncio.to_thread(self._in_thread, call)
                except SinkError as error:
                    log.error("event=%s retry_in_s=%.1f error=%r", event, wait, str(error))
                await asyncio.sleep(wait)
                wait = min(wait * 2, MAX_RETRY_S)

    def parse(self, topic_kind: str, messages: Sequence[Message]) -> list[Record]:
        """The records of a batch, each an event or a dead letter, with its offset."""
        return parse_batch(topic_kind, messages, self.window, datetime.now(UTC))

    async def store(
        self,
        topic_kind: str,
        records: list[Record],
        more_coming: Callable[[], bool] = lambda: False,
    ) -> FlushResult:
        """Write a parsed batch and the offsets it reaches, in one transaction if it can.

        A write that fails because of the database is retried, the batch kept, until it
        succeeds: no later batch may be written first, or its offsets would hide this one's
        records. A write refused because of the records is split (see the module). While
        ``more_coming()`` says another batch follows, the database stays open after the write
        (no checkpoint and reopening between back-to-back batches); it is closed after the last.
        """
        async with self.lock:
            log.info("event=batch_writing topic_kind=%s records=%d", topic_kind, len(records))
            started = time.perf_counter()
            results = await self._store_parts(topic_kind, records, more_coming)
            self.batches += 1
            self.records += len(records)
        result = FlushResult(
            events=sum(r.events for r in results),
            stored=sum(r.stored for r in results),
            dead_letters=sum(r.dead_letters for r in results),
            refreshed_from=min(
                (r.refreshed_from for r in results if r.refreshed_from), default=None
            ),
        )
        log.info(
            "event=batch_stored topic_kind=%s records=%d stored=%d dead_letters=%d "
            "seconds=%.3f writes=%d offsets=%s",
            topic_kind,
            len(records),
            result.stored,
            result.dead_letters,
            time.perf_counter() - started,
            len(results),
            ",".join(f"{t}:{partition}:{offset}" for (t, partition), offset in _offsets(records)),
        )
        return result

    async def _store_parts(
        self, topic_kind: str, records: list[Record], more_coming: Callable[[], bool]
    ) -> list[FlushResult]:
        """Store ``records`` whole, or in halves if refused, down to the records refused.

        The halves are written in order, the first before the second, so the offsets of each
        partition only move forward (a batch holds each partition's records in offset order).
        """
        # (records, whether they are dead letters put in place of refused records)
        pending: list[tuple[list[Record], bool]] = [(records, False)]
        results: list[FlushResult] = []
        wait = self.retry_s
        while pending:
            part, replacement = pending.pop()
            # Open after this write while more parts follow, or the next batch.
            stay_open = more_coming if not pending else _always
            written = await self._write(part, stay_open)
            if isinstance(written, FlushResult):
                results.append(written)
            elif replacement:
                # Even the dead letter is refused: the database is at fault, hold the batch.
                log.error("event=store_failed retry_in_s=%.1f error=%r", wait, written[:300])
                pending.append((part, True))
                await asyncio.sleep(wait)
                wait = min(wait * 2, MAX_RETRY_S)
            elif len(part) > 1:
                log.warning(
                    "event=batch_refused records=%d from=%s split_in=2 error=%r",
                    len(part),
                    position(part[0].source),
                    written[:300],
                )
                middle = len(part) // 2
                pending += [(part[middle:], False), (part[:middle], False)]  # first half first
            else:
                pending.append(([refused(part[0], topic_kind, written)], True))
        return results

    async def _write(
        self, records: list[Record], stay_open: Callable[[], bool]
    ) -> FlushResult | str:
        """One transaction: the records and their offsets. Returns what it did, or why the
        database refused the records; retries while the database itself fails."""
        wait = self.retry_s
        while True:
            for record in records:
                self.sink.add(record.item, source=record.source)
            try:
                return await asyncio.to_thread(
                    self._in_thread, lambda: self.sink.flush(stay_open=stay_open())
                )
            except SinkError as error:
                self._drop_buffered()
                if not _database_at_fault(error):
                    return error.cause
                log.error(
                    "event=store_failed records=%d retry_in_s=%.1f error=%r",
                    error.batch_size,
                    wait,
                    error.cause[:300],
                )
            except (ValueError, TypeError, OverflowError, MemoryError) as error:
                # Raised while turning the records into the sink's columns: the records' fault.
                self._drop_buffered()
                return f"{type(error).__name__}: {error}"
            await asyncio.sleep(wait)
            wait = min(wait * 2, MAX_RETRY_S)

    def _drop_buffered(self) -> None:
        """Forget the failed batch and its connection (a transaction may be left open)."""
        with self._using_sink:
            self.sink.discard()
            self.sink.close()

    def close(self) -> None:
        """Close the sink once no thread is writing through it."""
        with self._using_sink:
            self.sink.close()

    def _in_thread(self, call: Callable[[], T]) -> T:
        with self._using_sink:
            return call()


def _always() -> bool:
    return True


def _database_at_fault(error: SinkError) -> bool:
    """True when a write failed because of the database (opening it, a lock, the disk, a
    conflict), not because of the records: then the same write is tried again later."""
    return error.database_at_fault or not error.batch_size


def _offsets(records: list[Record]) -> list[tuple[tuple[str, int], int]]:
    """The next offset per (topic, partition) a batch reaches, sorted."""
    reached: dict[tuple[str, int], int] = {}
    for record in records:
        source = record.source
        key = (source.topic, source.partition)
        reached[key] = max(reached.get(key, 0), source.offset + 1)
    return sorted(reached.items())


def _subscribe(app: WorkerApp, settings: WorkerSettings) -> dict[str, str]:
    """Register the worker's topics with the conductor, so the consumer subscribes them; their
    records go to the agent as batches, never through a topic's own stream. Returns the kind
    of record each topic name carries."""
    kinds = {}
    for kind in TOPIC_KINDS:
        name = settings.topic(kind)
        kinds[name] = kind
        app.topics.add(app.topic(name, value_type=bytes, value_serializer="raw"))
    return kinds


def register_agents(app: WorkerApp, settings: WorkerSettings, writer: BatchWriter) -> None:
    """Subscribe the worker's topics and attach the agent that stores their record batches.

    The consumer hands over each topic's records in batches (``RecordBatch``, see
    ``streams.app``). The agent parses a batch and hands it to the writer, then takes the
    next: up to ``WRITES_IN_FLIGHT`` batches are parsed and not yet stored, and they are
    stored in the order they came. Once stored, their records are acked, so the group's
    offsets in Kafka follow (for lag monitoring; a restart seeks to DuckDB's own). A batch
    fetched before the latest seek is dropped: its records come again from DuckDB's offsets.
    An error other than a failed write crashes the worker (``CrashingSupervisor``): going on
    with later batches could record offsets past records never stored.
    """
    kinds = _subscribe(app, settings)

    async def store_batches(stream: faust.StreamT[RecordBatch]) -> AsyncIterator[None]:
        writes: deque[asyncio.Future[None]] = deque()

        async def store_then_ack(
            batch: RecordBatch,
            items: list[Record],
            previous: asyncio.Future[None] | None,
        ) -> None:
            try:
                if previous is not None:
                    await previous  # batches are stored in the order they came
                await writer.store(kinds[batch.topic], items, lambda: app.backlog > 1)
            finally:
                app.batch_done(batch)
            for message in batch.messages:
                app.consumer.ack(message)

        try:
            async for batch in stream:
                if batch.epoch != app.seek_epoch:
                    app.batch_done(batch)
                    log.info(
                        "event=batch_dropped reason=fetched_before_seek topic=%s records=%d",
                        batch.topic,
                        len(batch.messages),
                    )
                    continue
                items = writer.parse(kinds[batch.topic], batch.messages)
                while writes and writes[0].done():
                    writes.popleft().result()
                if len(writes) >= WRITES_IN_FLIGHT:
                    await writes.popleft()
                previous = writes[-1] if writes else None
                writes.append(asyncio.ensure_future(store_then_ack(batch, items, previous)))
                yield None
        finally:
            if writes:
                await asyncio.shield(writes[-1])

    app.agent(
        app.record_batches, name="store-record-batches", supervisor_strategy=CrashingSupervisor
    )(store_batches)
