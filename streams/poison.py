"""Poison records of every kind issue 17 found, each with the dead letter reason it must get.

``POISON`` is the catalogue: ``case.record(n)`` is the n-th record of a kind (distinct for
each n, so a stream with many of them expects as many dead letters), as (topic kind, key,
value) for ``streams.synthetic.produce``. Shared by ``tests/streams/test_poison*.py`` and
``bench/poison.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faust.types import Message

from streams.events import event_id
from taskgov.store import Connection

KafkaRecord = tuple[str, str, bytes]
_TIME = "2025-01-01T00:00:00Z"


def kafka_message(
    topic: str, partition: int, offset: int, value: bytes | None, timestamp_s: float = 1.7e9
) -> Message:
    """A consumed record as Faust hands it over."""
    return Message(topic, partition, offset, timestamp_s, 0, None, None, value, None)


def workload_document(n: int, **fields: Any) -> dict[str, Any]:
    """A valid ``submitted`` event of Workload ``poison-n`` as JSON, with ``fields`` set."""
    uid = f"poison-{n}"
    return {
        "schema_version": 1,
        "event_id": event_id("poison", uid, "submitted", 1),
        "cluster": "poison",
        "occurred_at": _TIME,
        "observed_at": _TIME,
        "kind": "Workload",
        "event_type": "submitted",
        "ordinal": 1,
        "namespace": "hyperpod-ns-team-a",
        "name": uid,
        "uid": uid,
        "team": "team-a",
        "local_queue": "lq",
        "requests": {"nvidia.com/gpu": 1},
        "accelerators": 1,
        "created_at": _TIME,
        **fields,
    }


def queue_document(n: int, quotas: list[dict[str, Any]]) -> dict[str, Any]:
    """A valid ClusterQueue event of ``poison-cq-n`` as JSON with these quota lines."""
    name = f"poison-cq-{n}"
    return {
        "schema_version": 1,
        "event_id": event_id("poison", name, "quota_changed", n),
        "cluster": "poison",
        "occurred_at": _TIME,
        "observed_at": _TIME,
        "kind": "ClusterQueue",
        "event_type": "quota_changed",
        "name": name,
        "team": "team-a",
        "resource_version": str(n),
        "quotas": quotas,
    }


def _line(nominal: int) -> dict[str, Any]:
    return {"flavor": "ml.p4d.24xlarge", "resource": "nvidia.com/gpu", "nominal": nominal}


def _workload(**fields: Any) -> Callable[[int], KafkaRecord]:
    def record(n: int) -> KafkaRecord:
        document = workload_document(n, **fields)
        return ("workload-events", document["uid"], json.dumps(document).encode())

    return record


def _nested(n: int) -> KafkaRecord:
    depth = 20_000
    return ("workload-events", f"deep-{n}", b'{"n": %d, "a": ' % n + b"[" * depth + b"]" * depth)


def garbage(n: int, size: int) -> KafkaRecord:
    """``size`` bytes, the first 100,000 the same for every n (only the tail differs)."""
    head = b"\x00garbage" * (100_000 // 8)
    tail = (b"%08d" % n) * ((size - len(head)) // 8)
    return ("workload-events", f"garbage-{n}", head + tail)


@dataclass(frozen=True, slots=True)
class Poison:
    """One kind of poison record and the start of the dead letter reason it must get."""

    name: str
    record: Callable[[int], KafkaRecord]
    want_reason: str


POISON: list[Poison] = [
    Poison(
        "a JSON array nested 20,000 deep",
        _nested,
        "unreadable record: record: Invalid JSON: recursion limit exceeded",
    ),
    Poison(
        "an ordinal of 2**40",
        _workload(ordinal=2**40),
        "unreadable record: ordinal: Input should be less than or equal to 2147483647",
    ),
    Poison(
        "a priority of 2**31",
        _workload(priority=2**31),
        "unreadable record: priority: Input should be less than or equal to 2147483647",
    ),
    Poison(
        "accelerators of 2**63",
        _workload(accelerators=2**63),
        "unreadable record: accelerators: Input should be less than or equal to 2147483647",
    ),
    Poison(
        "a negative cpu request",
        _workload(requests={"cpu": -5}),
        "unreadable record: requests.cpu: Input should be greater than or equal to 0",
    ),
    Poison(
        "a ClusterQueue nominal of 2**63",
        lambda n: (
            "clusterqueue-events",
            f"cq-{n}",
            json.dumps(queue_document(n, [_line(2**63)])).encode(),
        ),
        "unreadable record: quotas.0.nominal: Input should be less than or equal to "
        "9007199254740992",
    ),
    Poison(
        "a ClusterQueue quota line given twice",
        lambda n: (
            "clusterqueue-events",
            f"cq-{n}",
            json.dumps(queue_document(n, [_line(8), _line(4)])).encode(),
        ),
        "unreadable record: record: Value error, quota of flavor 'ml.p4d.24xlarge' and "
        "resource 'nvidia.com/gpu' twice",
    ),
    Poison(
        "occurred_at: 5 (1970)",
        _workload(occurred_at=5),
        "implausible time: occurred_at 1970-01-01T00:00:05+00:00 is before "
        "2015-01-01T00:00:00+00:00",
    ),
    Poison(
        "occurred_at in the year 1",
        _workload(occurred_at="0001-01-01T00:00:00Z"),
        "implausible time: occurred_at 0001-01-01T00:00:00+00:00 is before 2015-01-01",
    ),
    Poison(
        "occurred_at in the year 9999",
        _workload(occurred_at="9999-12-31T00:00:00Z"),
        "implausible time: occurred_at 9999-12-31T00:00:00+00:00 is more than 2 days ahead",
    ),
    Poison(
        "text that is not JSON",
        lambda n: ("workload-events", f"text-{n}", b"not json %d" % n),
        "unreadable record: record: Invalid JSON",
    ),
    Poison(
        "1 MB of garbage sharing its first 100 KB with the others",
        lambda n: garbage(n, 1_000_000),
        "unreadable record: record: Invalid JSON",
    ),
    Poison(
        "a dead letter dated in the year 1, east of UTC",
        lambda n: (
            "dead-letter",
            f"letter-{n}",
            json.dumps(
                {
                    "cluster": "poison",
                    "kind": "Workload",
                    "reason": f"bad {n}",
                    "raw": "{}",
                    "observed_at": "0001-01-01T00:00:00+05:00",
                }
            ).encode(),
        ),
        "implausible time: observed_at 0001-01-01T00:00:00+05:00 is before 2015-01-01",
    ),
]


# Reading back -------------------------------------------------------------------------------

TOPIC_PARTITIONS = {"workload-events": 3, "clusterqueue-events": 1, "dead-letter": 1}


def topics(prefix: str) -> dict[str, int]:
    """The worker's three topics under ``prefix`` and their partitions."""
    return {f"{prefix}.{kind}": count for kind, count in TOPIC_PARTITIONS.items()}


def stored_event_ids(conn: Connection) -> list[str]:
    """Every stored Workload and ClusterQueue event id, once per stored row."""
    rows = conn.execute(
        "SELECT event_id FROM workload_events UNION ALL SELECT event_id FROM cluster_queue_events"
    ).fetchall()
    return [str(row[0]) for row in rows]


def dead_letter_position(reason: str) -> str:
    """The ``topic[partition]@offset`` a worker's dead letter names at the end of its reason."""
    return reason.rsplit("(at ", 1)[-1].rstrip(")")
