"""What the twin's own ledger says the watcher must send, and reading it back from Kafka.

The synthetic streams themselves are ``streams.synthetic`` (the benches use them too).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from kafka import KafkaConsumer

from streams.events import event_id
from streams.synthetic import (
    Replay,
    busy_cluster,
    ledger_transitions,
    produce,
    replay,
    twin_events,
)
from taskgov.twin.engine import Twin

__all__ = [
    "Replay",
    "busy_cluster",
    "end_offsets",
    "expected_ids",
    "ledger_transitions",
    "produce",
    "read_topic",
    "replay",
    "twin_events",
]


def expected_ids(twin: Twin, cluster: str) -> set[str]:
    return {
        event_id(cluster, uid, kind, ordinal)
        for uid, transitions in ledger_transitions(twin).items()
        for kind, ordinal, _ in transitions
    }


def read_topic(bootstrap: str, topic: str, idle_ms: int = 3000) -> list[dict[str, Any]]:
    """Every record of ``topic``, in partition order, as decoded JSON."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=idle_ms,
    )
    try:
        return [json.loads(record.value) for record in consumer]
    finally:
        consumer.close()


def end_offsets(positions: Iterable[tuple[str, int, int]]) -> dict[tuple[str, int], int]:
    """The next offset after the last record, per (topic, partition)."""
    ends: dict[tuple[str, int], int] = {}
    for topic, partition, offset in positions:
        ends[(topic, partition)] = max(ends.get((topic, partition), 0), offset + 1)
    return ends
