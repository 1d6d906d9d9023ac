"""The agents that turn the watcher's records into rows of the DuckDB system of record.

Aggregation itself is SQL over the event log (``sql/views``), refreshed by the sink on each
flush, so the numbers are the same whether the events arrive once, twice or out of order.

The consumer hands each topic's records over in batches (``streams.app.RecordBatch``); the
agent parses a batch, and the writer stores it in one sink transaction together with the next
offset of each partition it covers (``applied_offsets``, where a restarted worker seeks); only
then are its records acked. The DuckDB work runs in a thread, so the next batch is fetched and
parsed meanwhile. A record that cannot be read is stored as a dead letter (with its offset),
never skipped silently. A failed write is retried with the batch kept, and nothing later is
written before it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import faust
from faust.types import Message
from mode import CrashingSupervisor
from pydantic import ValidationError

from streams.app import TOPIC_KINDS, RecordBatch, WorkerApp, WorkerSettings
from streams.events import ClusterQueueEvent, DeadLetter, WorkloadEvent
from streams.sink_duckdb import DuckDBSink, FlushResult, SinkError, SourceOffset

log = logging.getLogger("taskgov.worker")

Parsed = WorkloadEvent | ClusterQueueEvent | DeadLetter
_MODELS: dict[str, type[WorkloadEvent] | type[ClusterQueueEvent] | type[DeadLetter]] = {
    "workload-events": WorkloadEvent,
    "clusterqueue-events": ClusterQueueEvent,
    "dead-letter": DeadLetter,
}
MAX_RETRY_S = 30.0
# Batches parsed and handed to the writer, not yet stored: one being written, one waiting.
WRITES_IN_FLIGHT = 2
T = TypeVar("T")


def parse(topic_kind: str, raw: bytes) -> Parsed:
    """One record of a topic as its model.

    Raises:
        ValidationError: the record is not a valid event of that topic.
    """
    return _MODELS.get(topic_kind, DeadLetter).model_validate_json(raw)


def unreadable(
    topic_kind: str, raw: bytes, error: ValidationError, timestamp_s: float
) -> DeadLetter:
    """A record no model accepts, kept as a dead letter so its offset still counts.

    ``timestamp_s`` is the record's Kafka timestamp: the same record read again gives the
    same dead letter.
    """
    text = raw.decode("utf-8", errors="replace")
    try:
        cluster = json.loads(text).get("cluster")
    except (ValueError, AttributeError):
        cluster = None
    reasons = "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'record'}: {e['msg']}"
        for e in error.errors()[:5]
    )
    return DeadLetter(
        cluster=cluster if isinstance(cluster, str) else "",
        kind=f"{topic_kind} record",
        reason=f"unreadable record: {reasons}",
        raw=text[:100_000],
        observed_at=datetime.fromtimestamp(timestamp_s, UTC),
    )


class BatchWriter:
    """Writes the agents' batches through one sink, a batch per transaction, in a thread.

    Args:
        sink: the only DuckDB writer.
        retry_s: the first wait after a failed write; it doubles up to ``MAX_RETRY_S``.
    """

    def __init__(self, sink: DuckDBSink, retry_s: float = 0.5) -> None:
        self.sink = sink
        self.retry_s = retry_s
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
        wait = self.retry_s
        async with self.lock:
            while True:
                try:
                    return await asyncio.to_thread(self._in_thread, self.sink.applied_offsets)
                except SinkError as error:
                    log.error("event=offsets_unreadable retry_in_s=%.1f error=%r", wait, str(error))
                await asyncio.sleep(wait)
                wait = min(wait * 2, MAX_RETRY_S)

    def parse(
        self, topic_kind: str, messages: Sequence[Message]
    ) -> list[tuple[Parsed, SourceOffset]]:
        """The records of a batch as events (unreadable ones as dead letters), with offsets."""
        items: list[tuple[Parsed, SourceOffset]] = []
        for message in messages:
            raw = message.value if isinstance(message.value, bytes) else b""  # None: tombstone
            try:
                item = parse(topic_kind, raw)
            except ValidationError as error:
                item = unreadable(topic_kind, raw, error, message.timestamp)
                log.warning(
                    "event=unreadable_record topic=%s partition=%d offset=%d error=%r",
                    message.topic,
                    message.partition,
                    message.offset,
                    item.reason[:300],
                )
            items.append((item, SourceOffset(message.topic, message.partition, message.offset)))
        return items

    async def store(
        self,
        topic_kind: str,
        items: list[tuple[Parsed, SourceOffset]],
        more_coming: Callable[[], bool] = lambda: False,
    ) -> FlushResult:
        """Write a parsed batch and the offsets it reaches in one transaction.

        A failed write is retried, the batch kept, until it succeeds: no later batch may be
        written first, or its offsets would hide this one's records. While ``more_coming()``
        says another batch follows, the database stays open after the write (no checkpoint
        and reopening between back-to-back batches); it is closed after the last.
        """
        async with self.lock:
            for item, source in items:
                self.sink.add(item, source=source)
            log.info("event=batch_writing topic_kind=%s records=%d", topic_kind, len(items))
            started = time.perf_counter()
            wait = self.retry_s
            while True:
                try:
                    result = await asyncio.to_thread(
                        self._in_thread, lambda: self.sink.flush(stay_open=more_coming())
                    )
                    break
                except SinkError as error:
                    log.error(
                        "event=store_failed records=%d retry_in_s=%.1f error=%r",
                        error.batch_size,
                        wait,
                        error.cause[:300],
                    )
                await asyncio.sleep(wait)
                wait = min(wait * 2, MAX_RETRY_S)
            self.batches += 1
            self.records += len(items)
        log.info(
            "event=batch_stored topic_kind=%s records=%d stored=%d dead_letters=%d "
            "seconds=%.3f offsets=%s",
            topic_kind,
            len(items),
            result.stored,
            result.dead_letters,
            time.perf_counter() - started,
            ",".join(f"{t}:{partition}:{offset}" for (t, partition), offset in _offsets(items)),
        )
        return result

    def close(self) -> None:
        """Close the sink once no thread is writing through it."""
        with self._using_sink:
            self.sink.close()

    def _in_thread(self, call: Callable[[], T]) -> T:
        with self._using_sink:
            return call()


def _offsets(items: list[tuple[Parsed, SourceOffset]]) -> list[tuple[tuple[str, int], int]]:
    """The next offset per (topic, partition) a batch reaches, sorted."""
    reached: dict[tuple[str, int], int] = {}
    for _, source in items:
        key = (source.topic, source.partition)
        reached[key] = max(reached.get(key, 0), source.offset + 1)
    return sorted(reached.items())


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
    kinds = {}
    for kind in TOPIC_KINDS:
        name = settings.topic(kind)
        kinds[name] = kind
        # Registered with the conductor so the consumer subscribes them; their records go to
        # the agent as batches, never through this topic's own stream.
        app.topics.add(app.topic(name, value_type=bytes, value_serializer="raw"))

    async def store_batches(stream: faust.StreamT[RecordBatch]) -> AsyncIterator[None]:
        writes: deque[asyncio.Future[None]] = deque()

        async def store_then_ack(
            batch: RecordBatch,
            items: list[tuple[Parsed, SourceOffset]],
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
