"""The one Faust app: consume the watcher's topics and hand every record to the DuckDB sink.

Delivery is at least once (Tansu rejects the idempotent aiokafka producer that exactly-once
needs); the sink stores events keyed by event id, so a record delivered twice changes nothing.
No state lives in Faust tables: DuckDB is the system of record, so a restarted worker needs no
changelog recovery (see spec/local-kafka.md).

Where to read from is DuckDB's too: the sink commits the next offset of every partition in the
same transaction as the events (``applied_offsets``), and whenever partitions are assigned the
worker seeks there (to the beginning of a partition DuckDB has nothing from), whatever offsets
the consumer group committed in Kafka. A worker killed at any point therefore reads again
exactly what DuckDB does not hold yet. If DuckDB holds offsets past a partition's end, the
topic was deleted and created again or the broker restarted empty: seeking there would skip the
new topic's records silently, so the worker stops instead (:class:`TopicRecreated`, exit 4).

A broker that stops answering is reported in taskgov's words, one line per backoff
(``event=broker_unavailable``), while aiokafka's own lines (dozens a second) are held back; past
``max_outage_s`` the worker exits 1.

Records reach the agent in batches (:class:`RecordBatch`, one Faust event per batch), straight
from the consumer's ``getmany``: Faust's one event per record costs more Python than parsing
and storing the record (see ``bench/pipeline.py``). Faust still runs the group, the
assignment, the seeks, the offsets committed to Kafka, the agent and the worker's life cycle.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from kafka import KafkaAdminClient  # type: ignore[import-untyped]
from kafka.errors import KafkaError  # type: ignore[import-untyped]
from mode import Service, ServiceT

from streams.broker_health import (
    BrokerHealth,
    BrokerUnreachable,
    TopicIdChanged,
    TopicRecreated,
    broker_topic_ids,
    missing_records,
)
from taskgov.errors import TaskgovError
from taskgov.settings import AUDIT_EVERY_S, BROKER_MAX_OUTAGE_S
from taskgov.store.topic_ids import TopicIdChange

log = logging.getLogger("taskgov.worker")

TOPIC_KINDS = ("workload-events", "clusterqueue-events", "dead-letter")
# Records per DuckDB transaction: each flush has a fixed cost (refreshing the aggregates), so
# bigger batches go faster; 20k reached 10.8k records/s against 9.1k for 10k (bench/pipeline.py).
BATCH_SIZE = 20_000
BATCH_WINDOW_S = 1.0
# Apache Kafka's smallest by default (group.min.session.timeout.ms). A group's first join is
# held for about half of it on Tansu (spec/local-kafka.md), which is most of a start.
SESSION_TIMEOUT_S = 6.0
# Batches handed to the agent and not stored yet, past which a batch waits to be full.
BACKLOG = 2


class ReadPositions(Protocol):
    """Where DuckDB says the worker has read to, and from which topics (by their ids)."""

    async def applied_offsets(self) -> Mapping[tuple[str, int], int]:
        """(topic, partition) -> the next offset to read, as DuckDB recorded it."""

    async def topic_ids_changed(
        self, broker_ids: Mapping[str, str], read_topics: Collection[str]
    ) -> Sequence[TopicIdChange]:
        """The topics read from that the broker holds under new ids (ids recorded if none)."""


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """What the worker connects to and where it writes.

    Attributes:
        bootstrap: Kafka bootstrap servers.
        duckdb_path: the DuckDB file.
        topic_prefix: topics are ``PREFIX.workload-events`` and so on.
        app_id: the Kafka consumer group.
        batch_size: most records per DuckDB transaction (per topic).
        batch_window_s: how long a batch may wait to fill.
        session_timeout_s: the consumer group session timeout; the broker must allow it.
        max_outage_s: how long the broker may stay unreachable before the worker exits 1.
        audit_every_s: seconds between the worker's incremental audits of the aggregates
            against the log (``streams.agents.audit``); 0: never.
    """

    bootstrap: str
    duckdb_path: Path
    topic_prefix: str = "taskgov"
    app_id: str = "taskgov-worker"
    batch_size: int = BATCH_SIZE
    batch_window_s: float = BATCH_WINDOW_S
    session_timeout_s: float = SESSION_TIMEOUT_S
    max_outage_s: float = BROKER_MAX_OUTAGE_S
    audit_every_s: float = AUDIT_EVERY_S

    def topic(self, kind: str) -> str:
        """The topic of one kind of record (``workload-events`` ...)."""
        return f"{self.topic_prefix}.{kind}"


def check_broker(settings: WorkerSettings, timeout_s: float) -> list[str]:
    """Make sure the broker answers before Faust starts (it would retry, then crash, at length).

    Returns:
        The worker's topics that do not exist yet (``taskgov watch`` creates them); the worker
        picks them up once they do.

    Raises:
        BrokerUnreachable: nothing answered Kafka requests at ``settings.bootstrap``.
    """
    timeout_ms = max(int(timeout_s * 1000), 1)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.bootstrap,
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
        )
    except KafkaError as error:
        raise BrokerUnreachable(settings.bootstrap, timeout_s, str(error) or repr(error)) from None
    try:
        existing = set(admin.list_topics())
    except KafkaError as error:
        raise BrokerUnreachable(settings.bootstrap, timeout_s, str(error) or repr(error)) from None
    finally:
        admin.close()
    return [settings.topic(kind) for kind in TOPIC_KINDS if settings.topic(kind) not in existing]


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """Records of one of our topics, fetched in a row since the last seek, in fetch order.

    Attributes:
        topic: the Kafka topic.
        epoch: ``WorkerApp.seek_epoch`` when they were fetched; a batch from before the
            latest seek is stale (the records after it were dropped or will come again).
        messages: the records; per partition, consecutive offsets (Kafka's order).
    """

    topic: str
    epoch: int
    messages: list[Message]


class _Consumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, seeking to DuckDB's offsets instead of the group's, and
    handing our topics' records over in batches instead of one Faust event per record."""

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        app = self.app
        if not isinstance(app, WorkerApp):
            return committed
        return await app.seek_to_applied(self, committed)

    async def _drain_messages(self, fetcher: ServiceT) -> None:
        """Faust's ``Consumer._drain_messages`` (faust-streaming 0.15), batching our topics.

        Faust turns every record into an event that crosses a queue, a stream and several
        loop turns (``wait_first`` alone makes two tasks per record): about 100 µs of Python
        per record, more than parsing and storing it. Here the records of our topics are
        collected per topic, straight from ``getmany``, and handed to the agent as one
        :class:`RecordBatch` once ``batch_size`` are in, or once the oldest is
        ``batch_window_s`` old and the agent is not behind. Other topics (Faust's own) go the
        usual way, without ``wait_first``.

        Records that come while the flow is suspended (a rebalance) are dropped with whatever
        is collected, as Faust's loop drops them; once assigned, every partition is sought to
        DuckDB's offset again (a new epoch), so they are read again. Read offsets, gaps and
        ``broker_commit_every`` are kept as Faust keeps them.
        """
        app = self.app
        if not isinstance(app, WorkerApp):
            await super()._drain_messages(fetcher)
            return
        try:
            await self._drain_batched(app, fetcher)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise

    async def _drain_batched(self, app: WorkerApp, fetcher: ServiceT) -> None:
        """The loop of :meth:`_drain_messages`: its locals bind what every record needs."""
        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        suspended = self.suspend_flow.is_set
        consumer_stopped = cast(Service, self)._stopped.is_set
        fetcher_stopped = cast(Service, fetcher)._stopped.is_set
        own, size, window = app.own_topics, app.batch_size, app.batch_window_s
        pending: dict[str, RecordBatch] = {}
        started: dict[str, float] = {}
        while not (consumer_stopped() or fetcher_stopped()):
            records = self.getmany(timeout=min(window, 1.0))
            await self.sleep(0)
            if self.should_stop:
                continue
            async for tp, message in records:
                offset = message.offset
                read = get_read_offset(tp)
                if read is not None and offset < read:
                    continue
                if suspended():
                    pending.clear()
                    set_read_offset(tp, offset)
                    continue
                if tp.topic in own:
                    batch = _open_batch(pending, started, tp.topic, app.seek_epoch)
                    batch.messages.append(message)
                    set_read_offset(tp, offset)
                    if len(batch.messages) >= size:
                        await app.hand_over(pending.pop(tp.topic))
                    continue
                await self._pass_on(tp, message, read)
                set_read_offset(tp, offset)
            if suspended():
                pending.clear()
                continue
            await _hand_over_due(app, pending, started, window)

    async def _pass_on(self, tp: TP, message: Message, read: int | None) -> None:
        """A record of a topic not ours (Faust's own) goes Faust's usual way: its gaps noted
        for acks, the group's offsets committed every ``broker_commit_every`` acks."""
        offset = message.offset
        if read and offset - read > 1 and self.app.topics.acks_enabled_for(message.topic):
            await self._add_gap(tp, read + 1, offset)
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()
        await self.callback(message)


def _open_batch(
    pending: dict[str, RecordBatch], started: dict[str, float], topic: str, epoch: int
) -> RecordBatch:
    """The batch collecting ``topic``'s records, a new one if none is or it predates the
    latest seek (``epoch``): a batch never mixes records from before and after a seek."""
    batch = pending.get(topic)
    if batch is None or batch.epoch != epoch:
        batch = pending[topic] = RecordBatch(topic, epoch, [])
        started[topic] = time.monotonic()
    return batch


async def _hand_over_due(
    app: WorkerApp, pending: dict[str, RecordBatch], started: dict[str, float], window: float
) -> None:
    """Hand over each batch past its window while the agent has room. While the agent is busy
    the batch grows (up to batch_size), so a backlog is stored in fewer, larger transactions
    and a quiet stream still within the window."""
    now = time.monotonic()
    for topic in [t for t in pending if now - started[t] >= window]:
        if app.backlog < BACKLOG:
            await app.hand_over(pending.pop(topic))


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class WorkerApp(faust.App):
    """A Faust app whose read positions come from DuckDB (``applied_offsets``) and whose
    consumer hands our topics' records to ``record_batches`` in batches."""

    def __init__(
        self, *args: Any, settings: WorkerSettings, positions: ReadPositions, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.positions = positions
        self.own_topics = frozenset(settings.topic(kind) for kind in TOPIC_KINDS)
        self.batch_size = settings.batch_size
        self.batch_window_s = settings.batch_window_s
        # Bumped by every seek: batches fetched before it are stale.
        self.seek_epoch = 0
        # Batches of this epoch handed to the agent and not yet stored or dropped.
        self.backlog = 0
        # The agent's input: one RecordBatch per event (in memory, a few batches at most).
        self.record_batches = self.channel(maxsize=4)
        self.bootstrap = settings.bootstrap
        # Why the worker must stop, once it must; ``on_fatal`` acts on it (default: crash).
        self.fatal: TaskgovError | None = None
        self.on_fatal: Callable[[TaskgovError], None] = self._crash
        self.broker = BrokerHealth(settings.bootstrap, settings.max_outage_s, self.fail)

    async def hand_over(self, batch: RecordBatch) -> None:
        """Give a batch of records to the agent (waits while it has enough queued)."""
        self.backlog += 1
        await self.record_batches.send(value=batch)

    def batch_done(self, batch: RecordBatch) -> None:
        """Called by the agent once a batch is stored or dropped."""
        if batch.epoch == self.seek_epoch:  # older ones were forgotten by the seek
            self.backlog -= 1

    def fail(self, error: TaskgovError) -> None:
        """Stop the worker because of ``error`` (``on_fatal``, set by the CLI, exits)."""
        log.error("event=worker_stopping exit_code=%d reason=%r", error.exit_code, str(error))
        self.fatal = error
        self.on_fatal(error)

    def _new_transport(self) -> _Transport:
        return _Transport(self.conf.broker_consumer, self)

    async def seek_to_applied(
        self, consumer: faust_aiokafka.Consumer, committed: Mapping[TP, int]
    ) -> dict[TP, int]:
        """Seek every assigned partition of our topics to DuckDB's next offset.

        Called by Faust (``Consumer.perform_seek``) after each assignment, once the partitions
        are resumed and before any record is fetched; the result becomes Faust's read and
        committed positions. A partition DuckDB holds nothing from is read from the start.
        """
        self.seek_epoch += 1
        self.backlog = 0  # batches from before are dropped (Faust may even clear them)
        applied = await self.positions.applied_offsets()
        own = [tp for tp in committed if tp.topic in self.own_topics]
        ends = await consumer.highwaters(*own) if own else {}
        past_end = [
            (tp.topic, tp.partition, applied[(tp.topic, tp.partition)], ends[tp])
            for tp in own
            if tp in ends and applied.get((tp.topic, tp.partition), 0) > ends[tp]
        ]
        behind = await asyncio.to_thread(missing_records, self.bootstrap, sorted(past_end))
        if behind:
            self.fail(TopicRecreated(self.bootstrap, behind))
            return dict(committed)
        changed = await self._topic_ids_changed({topic for topic, _ in applied})
        if changed:
            self.fail(TopicIdChanged(self.bootstrap, changed))
            return dict(committed)
        positions: dict[TP, int] = {}
        for tp, kafka_offset in committed.items():
            if tp.topic not in self.own_topics:
                positions[tp] = kafka_offset
                continue
            offset = applied.get((tp.topic, tp.partition), 0)
            await consumer.seek_wait({tp: offset})
            positions[tp] = offset
            log.info(
                "event=seek topic=%s partition=%d offset=%d group_committed=%s",
                tp.topic,
                tp.partition,
                offset,
                kafka_offset,
            )
        return positions

    async def _topic_ids_changed(self, read_topics: set[str]) -> Sequence[TopicIdChange]:
        """Our topics DuckDB has read from that now have other ids (see
        :mod:`taskgov.store.topic_ids`). A broker that cannot say leaves the offsets check
        alone on guard, with one line saying so."""
        try:
            broker_ids = await asyncio.to_thread(
                broker_topic_ids, self.bootstrap, sorted(self.own_topics)
            )
        except KafkaError as error:
            log.warning("event=topic_ids_unavailable error=%r", str(error))
            return []
        return await self.positions.topic_ids_changed(broker_ids, read_topics)


def make_app(settings: WorkerSettings, positions: ReadPositions) -> WorkerApp:
    """A Faust app with timeouts that let a group form quickly on the local broker.

    Args:
        settings: the worker's settings.
        positions: reads DuckDB's next offset per (topic, partition) and checks topic ids.
    """
    app = WorkerApp(
        settings.app_id,
        settings=settings,
        positions=positions,
        broker=f"kafka://{settings.bootstrap}",
        store="memory://",
        processing_guarantee="at_least_once",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.session_timeout_s / 5,
        broker_rebalance_timeout=max(10.0, 2 * settings.session_timeout_s),
        # Offsets in Kafka are only a hint (we seek to DuckDB's), so commit them rarely.
        broker_commit_interval=5.0,
        broker_commit_every=100_000,
        # Large fetches: records are small and the sink writes big batches.
        broker_max_poll_records=5_000,
        consumer_max_fetch_size=16 * 1024 * 1024,
        web_enabled=False,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
    )
    app.broker.throttle_client_logs()

    @app.task
    async def watch_broker() -> None:
        await app.broker.watch(lambda: app.should_stop)

    return app
