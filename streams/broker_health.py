"""What the worker knows about its broker that Kafka clients do not say plainly.

Two failures, each with a policy:

- **Outage**: aiokafka logs every failed connection, dozens of lines a second, and retries
  forever. :class:`BrokerHealth` checks the bootstrap addresses itself, says once per backoff
  that the broker is away (``event=broker_unavailable``) while aiokafka's lines are held back,
  and stops the worker (exit 1) once the outage passes ``max_outage_s``.
- **Recreated topics**: DuckDB remembers how far it read each partition; a topic deleted and
  created again, or a broker restarted empty, starts its offsets over. Seeking to DuckDB's
  offsets would then skip the new records without a word. :func:`missing_records` confirms
  that the last record DuckDB read is gone, and the worker stops (:class:`TopicRecreated`,
  exit 4) rather than rewind: DuckDB's offsets only go forward, so a rewind would be undone
  at the next start and the records between lost after all. A recreated topic that already
  holds more records than DuckDB read passes that test, so the worker also keeps the id the
  broker gives each topic (:func:`broker_topic_ids`, :mod:`taskgov.store.topic_ids`) and stops
  the same way when a topic it has read from comes back under a new id (:class:`TopicIdChanged`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from kafka.errors import KafkaError  # type: ignore[import-untyped]

from taskgov.broker import BrokerError
from taskgov.errors import TaskgovError
from taskgov.store.topic_ids import TopicIdChange

log = logging.getLogger("taskgov.worker")

# While the broker answers, how often the worker checks it does; once it does not, the wait
# between checks doubles up to the last.
BROKER_CHECK_S = 1.0
BROKER_BACKOFF_MAX_S = 30.0
# At most one line of aiokafka's per this many seconds (it logs each failed connection).
CLIENT_LOG_EVERY_S = 30.0
# How long to look for the last record DuckDB read, once the broker has answered, before
# calling it gone.
PROBE_TIMEOUT_S = 10.0

# (topic, partition, DuckDB's next offset, the broker's end offset)
Behind = tuple[str, int, int, int]


class BrokerUnreachable(BrokerError):
    """No Kafka broker answered at ``bootstrap`` within ``timeout_s``; ``reason`` says why."""

    def __init__(self, bootstrap: str, timeout_s: float, reason: str) -> None:
        self.bootstrap, self.timeout_s, self.reason = bootstrap, timeout_s, reason
        super().__init__(
            f"cannot reach the Kafka broker at {bootstrap} (waited {timeout_s:g} s: {reason}); "
            "start it (`taskgov broker start`) or set TASKGOV_KAFKA_BOOTSTRAP=host:port"
        )


class TopicRecreated(BrokerError):
    """The broker no longer holds records DuckDB has read: a topic recreated, or a broker
    restarted empty. ``behind`` lists the partitions as :data:`Behind`. Exit code 4."""

    exit_code = 4

    def __init__(self, bootstrap: str, behind: Sequence[Behind]) -> None:
        self.bootstrap, self.behind = bootstrap, list(behind)
        where = ", ".join(
            f"{topic}[{partition}] ends at {end}, DuckDB has read to {offset}"
            for topic, partition, offset, end in self.behind
        )
        super().__init__(
            f"the broker at {bootstrap} no longer holds records DuckDB has read ({where}): "
            "the topic was recreated or the broker restarted empty. The worker stops rather "
            "than skip the new topic's records; to read it from its start, delete its rows "
            "from DuckDB's applied_offsets table (README: Poison input) and start again"
        )


class TopicIdChanged(BrokerError):
    """Topics DuckDB has read from are now other topics under the same names (their ids
    changed: deleted and created again). ``changes`` names them. Exit code 4."""

    exit_code = 4

    def __init__(self, bootstrap: str, changes: Sequence[TopicIdChange]) -> None:
        self.bootstrap, self.changes = bootstrap, list(changes)
        where = ", ".join(
            f"{c.topic} was {c.stored_id}, is now {c.broker_id}" for c in self.changes
        )
        super().__init__(
            f"the broker at {bootstrap} holds other topics under the names DuckDB read from "
            f"(topic ids: {where}): deleted and created again. DuckDB's offsets belong to the "
            "old topics, so the worker stops rather than skip or mix the new records; to read "
            "a new topic from its start, delete its rows from DuckDB's applied_offsets table "
            "(README: Poison input) and start again"
        )


def broker_topic_ids(
    bootstrap: str, topics: Sequence[str], timeout_s: float = 10.0
) -> dict[str, str]:
    """The id the broker gives each of ``topics`` (KIP-516), for those it gives one.

    Brokers before Kafka 2.8 answer without ids (or with the null UUID): those topics are
    left out, and only the offsets check (:func:`missing_records`) guards them.
    """
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
    try:
        described = admin.describe_topics(list(topics))
    finally:
        admin.close()
    null = str(uuid.UUID(int=0))
    return {
        str(t["name"]): str(t["topic_id"])
        for t in described
        if t.get("error_code") == 0 and t.get("topic_id") not in (None, "", null)
    }


def missing_records(
    bootstrap: str, candidates: Sequence[Behind], timeout_s: float = PROBE_TIMEOUT_S
) -> list[Behind]:
    """Of partitions whose reported end is below DuckDB's offset, those whose last record
    DuckDB read (``offset - 1``) the broker no longer returns.

    The reported end alone is not proof: Tansu reports the first offset of the last record
    batch plus one, below the true end whenever that batch holds several records. A broker
    that is really behind returns nothing there (or an out-of-range error).
    """
    if not candidates:
        return []
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="none"
    )
    try:
        wanted = {TopicPartition(t, p): o - 1 for t, p, o, _ in candidates}
        consumer.assign(list(wanted))
        # A round trip first, so a slow connection is not taken for a broker with nothing.
        consumer.beginning_offsets(list(wanted))
        for tp, offset in wanted.items():
            consumer.seek(tp, offset)
        found: set[TopicPartition] = set()
        deadline = time.monotonic() + timeout_s
        while len(found) < len(wanted) and time.monotonic() < deadline:
            try:
                fetched = consumer.poll(timeout_ms=200, max_records=100)
            except KafkaError:  # out of range on Apache Kafka: gone
                break
            for tp, records in fetched.items():
                if any(r.offset >= wanted[tp] for r in records):
                    found.add(tp)
                    consumer.pause(tp)
    finally:
        consumer.close()
    return [c for c in candidates if TopicPartition(c[0], c[1]) not in found]


class BrokerHealth:
    """Watches whether the broker answers, on the worker's loop (see the module).

    Args:
        bootstrap: the broker's addresses, ``host:port[,host:port]``.
        max_outage_s: how long it may stay away before ``fail`` is called.
        fail: stops the worker with the error.
    """

    def __init__(
        self, bootstrap: str, max_outage_s: float, fail: Callable[[TaskgovError], None]
    ) -> None:
        self.bootstrap, self.max_outage_s, self.fail = bootstrap, max_outage_s, fail
        # True while the broker does not answer (aiokafka's lines are held back meanwhile).
        self.down = False

    async def watch(self, stopping: Callable[[], bool]) -> None:
        """Check every second; while away, one line per backoff; past the limit, ``fail``."""
        down_since: float | None = None
        wait = BROKER_CHECK_S
        while not stopping():
            reason = await _unreachable(self.bootstrap, timeout_s=2.0)
            now = time.monotonic()
            if reason is None:
                if down_since is not None:
                    log.warning(
                        "event=broker_back bootstrap=%s down_for_s=%.0f",
                        self.bootstrap,
                        now - down_since,
                    )
                down_since, wait, self.down = None, BROKER_CHECK_S, False
                await asyncio.sleep(BROKER_CHECK_S)
                continue
            self.down = True
            down_since = now if down_since is None else down_since
            down_s = now - down_since
            if down_s >= self.max_outage_s:
                self.fail(BrokerUnreachable(self.bootstrap, round(down_s), reason))
                return
            wait = min(wait, self.max_outage_s - down_s)
            log.error(
                "event=broker_unavailable bootstrap=%s down_for_s=%.0f exit_in_s=%.0f "
                "retry_in_s=%.1f error=%r",
                self.bootstrap,
                down_s,
                self.max_outage_s - down_s,
                wait,
                reason,
            )
            await asyncio.sleep(wait)
            wait = min(wait * 2, BROKER_BACKOFF_MAX_S)

    def throttle_client_logs(self) -> None:
        """Route the ``aiokafka`` loggers through a :class:`ClientLogThrottle`."""
        client = logging.getLogger("aiokafka")
        client.propagate = False
        client.handlers[:] = [ClientLogThrottle(lambda: self.down)]


class ClientLogThrottle(logging.Handler):
    """Passes on at most one of aiokafka's lines per ``every_s`` (saying how many were held
    back), and none while ``down()``: the worker's own line says it then."""

    def __init__(self, down: Callable[[], bool], every_s: float = CLIENT_LOG_EVERY_S) -> None:
        super().__init__()
        self.down, self.every_s = down, every_s
        self.last_s = -every_s
        self.held = 0

    def emit(self, record: logging.LogRecord) -> None:
        now = time.monotonic()
        if self.down() or now - self.last_s < self.every_s:
            self.held += 1
            return
        if self.held:
            record.msg = f"{record.msg} ({self.held} lines of the Kafka client held back)"
        self.last_s, self.held = now, 0
        log.handle(record)


async def _unreachable(bootstrap: str, timeout_s: float) -> str | None:
    """None if some bootstrap address accepts a connection, else why none does."""
    reason = "no address"
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host.strip("[]"), int(port)), timeout_s
            )
        except (OSError, ValueError, TimeoutError) as error:
            reason = str(error) or type(error).__name__
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return None
    return reason
