"""Kafka records as the agent stores them: an event, or a dead letter saying why not.

Every record of a batch becomes exactly one :class:`Record`, whatever its bytes: a record no
model accepts (not JSON, nested past any parser's depth, a field out of bounds), an event
whose times lie outside the plausible window, or one the database refuses later
(:func:`refused`) is kept as a dead letter at its offset, so the offsets move on and nothing
is skipped silently. Dead letters are built from the record alone (its bytes, position and
Kafka timestamp, and the settings), so the same record read again gives the same dead letter
(the sink stores it once).
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from faust.types import Message
from pydantic import ValidationError

from streams.events import ClusterQueueEvent, DeadLetter, WorkloadEvent, kept_raw
from streams.sink_duckdb import SourceOffset
from taskgov.settings import EARLIEST_EVENT_TIME, EVENT_MAX_AHEAD_DAYS

log = logging.getLogger("taskgov.worker")

Parsed = WorkloadEvent | ClusterQueueEvent | DeadLetter
_MODELS: dict[str, type[WorkloadEvent] | type[ClusterQueueEvent] | type[DeadLetter]] = {
    "workload-events": WorkloadEvent,
    "clusterqueue-events": ClusterQueueEvent,
    "dead-letter": DeadLetter,
}


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """When an event may have happened: from ``earliest`` to ``max_ahead`` past the clock.

    An event outside it (a clock at 1970, year 1 or 9999) would make the aggregates span
    decades, one row per minute; it is a dead letter instead (so is a dead letter from the
    dead-letter topic whose time is outside it: such a time may not even convert to UTC).
    """

    earliest: datetime = EARLIEST_EVENT_TIME
    max_ahead: timedelta = timedelta(days=EVENT_MAX_AHEAD_DAYS)

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The earliest and latest plausible instants (aware) with the clock at ``now``."""
        return self.earliest, (now if now.tzinfo else now.replace(tzinfo=UTC)) + self.max_ahead

    def fault(self, item: Parsed, now: datetime) -> str | None:
        """Why ``item``'s times are implausible, or None. The text names the bound, never the
        clock, so a record read again gives the same reason."""
        _, latest = self.bounds(now)
        times = {"observed_at": item.observed_at}
        if not isinstance(item, DeadLetter):
            times["occurred_at"] = item.occurred_at
        if isinstance(item, WorkloadEvent):
            times["created_at"] = item.created_at
        for name, moment in times.items():
            aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            if aware < self.earliest:
                return f"{name} {moment.isoformat()} is before {self.earliest.isoformat()}"
            if aware > latest:
                ahead = self.max_ahead.total_seconds() / 86_400
                return f"{name} {moment.isoformat()} is more than {ahead:g} days ahead of the clock"
        return None


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record as stored: its event or dead letter, where it is, and its bytes."""

    item: Parsed
    source: SourceOffset
    raw: bytes
    timestamp_s: float


def parse(topic_kind: str, raw: bytes) -> Parsed:
    """One record of a topic as its model.

    Raises:
        ValidationError: the record is not a valid event of that topic.
    """
    return _MODELS.get(topic_kind, DeadLetter).model_validate_json(raw)


def position(source: SourceOffset) -> str:
    """``topic[partition]@offset``, as logs and dead letters name a record."""
    return f"{source.topic}[{source.partition}]@{source.offset}"


def dead_letter(
    topic_kind: str, raw: bytes, reason: str, source: SourceOffset, timestamp_s: float
) -> DeadLetter:
    """A record kept as a dead letter: its text (the whole of it hashed when cut, see
    ``kept_raw``), the reason and its position (two equal records are two dead letters)."""
    text = raw.decode("utf-8", errors="replace")
    return DeadLetter(
        cluster=_cluster_of(text),
        kind=f"{topic_kind} record",
        reason=f"{reason} (at {position(source)})",
        raw=kept_raw(text),
        observed_at=_instant(timestamp_s),
    )


def unreadable_reason(error: Exception) -> str:
    """The reason a record no model accepts is a dead letter: the first faults, by field."""
    if isinstance(error, ValidationError):
        faults = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'record'}: {e['msg']}"
            for e in error.errors()[:5]
        )
    else:
        faults = f"record: {type(error).__name__}: {str(error)[:300]}"
    return f"unreadable record: {faults}"


def refused(record: Record, topic_kind: str, cause: str) -> Record:
    """The dead letter that takes the place of a record the database refused to store."""
    reason = f"cannot be stored: {cause.splitlines()[0][:300] if cause else 'unknown error'}"
    letter = dead_letter(topic_kind, record.raw, reason, record.source, record.timestamp_s)
    log.warning(
        "event=record_refused record=%s error=%r", position(record.source), letter.reason[:300]
    )
    return Record(letter, record.source, record.raw, record.timestamp_s)


def parse_batch(
    topic_kind: str, messages: Sequence[Message], window: TimeWindow, now: datetime
) -> list[Record]:
    """Every record of a batch as a :class:`Record`, in order; none is dropped, none raises.

    This loop runs once per record of every batch, in the worker's event loop: its own work
    beside the model's validation is kept to a type test and the comparisons of the usual
    record's times with the window's bounds (:meth:`TimeWindow.fault` only when they fail).
    Python's cyclic garbage collector is paused while it runs: each record allocates a few
    containers (the model, its dict and field set, the Record), none of them in a cycle, and
    the collections their count triggers walk the worker's whole heap (two batches of models
    in flight). A 20,000-record batch parsed in 28 µs of CPU a record with it, 11 µs without
    (``bench/sink_steps.py``'s records); what the loop leaves is collected as usual after.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse_all(topic_kind, messages, window, now)
    finally:
        if collecting:
            gc.enable()


def _parse_all(
    topic_kind: str, messages: Sequence[Message], window: TimeWindow, now: datetime
) -> list[Record]:
    validate = _MODELS.get(topic_kind, DeadLetter).model_validate_json
    earliest, latest = window.bounds(now)
    records: list[Record] = []
    for message in messages:
        raw = message.value if isinstance(message.value, bytes) else b""  # None: tombstone
        source = SourceOffset(message.topic, message.partition, message.offset)
        reason: str | None = None
        try:
            item: Parsed = validate(raw)
        except Exception as error:  # noqa: BLE001 - whatever the bytes, a dead letter, no crash
            reason = unreadable_reason(error)
        else:
            if not _inside(item, earliest, latest):
                fault = window.fault(item, now)
                reason = f"implausible time: {fault}" if fault else None
        if reason is not None:
            item = dead_letter(topic_kind, raw, reason, source, message.timestamp)
            log.warning(
                "event=unreadable_record record=%s error=%r", position(source), reason[:300]
            )
        records.append(Record(item, source, raw, message.timestamp))
    return records


def _inside(item: Parsed, earliest: datetime, latest: datetime) -> bool:
    """True when every time of ``item`` carries a zone and lies within the bounds (the usual
    record); False leaves the verdict, and the reason, to :meth:`TimeWindow.fault`."""
    times: tuple[datetime, ...] = (item.observed_at,)
    if isinstance(item, WorkloadEvent):
        times = (item.observed_at, item.occurred_at, item.created_at)
    elif isinstance(item, ClusterQueueEvent):
        times = (item.observed_at, item.occurred_at)
    return all(t.tzinfo is not None and earliest <= t <= latest for t in times)


def _cluster_of(text: str) -> str:
    """The ``cluster`` field of a JSON object, if the text is one (else "")."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return ""
    cluster = document.get("cluster") if isinstance(document, dict) else None
    return cluster if isinstance(cluster, str) else ""


def _instant(timestamp_s: float) -> datetime:
    """A Kafka timestamp as a UTC time; the epoch if the producer set an impossible one."""
    try:
        return datetime.fromtimestamp(timestamp_s, UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return datetime(1970, 1, 1, tzinfo=UTC)
