"""Which Kafka topic, by its id, DuckDB's offsets were read from.

Offsets name a position in one topic's life. A topic deleted and created again under the same
name (or a broker restarted empty) starts over at 0; when the new topic already holds more
records than DuckDB read, seeking to DuckDB's offsets silently skips the new records before
them. Kafka (>= 2.8, KIP-516) and Tansu give each topic a UUID, so the worker keeps the id it
read from beside the offsets and compares on every assignment: a topic DuckDB has read from
whose id changed is reported, never read. A topic DuckDB has read nothing from takes the
broker's id as it is (so deleting a topic's ``applied_offsets`` rows, the documented way to
read a recreated topic from its start, also accepts its new id).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from taskgov.store.connect import Connection, transaction
from taskgov.store.files import sql_text


@dataclass(frozen=True, slots=True)
class TopicIdChange:
    """A topic DuckDB has read from that the broker now holds under another id."""

    topic: str
    stored_id: str
    broker_id: str


def reconcile_topic_ids(
    conn: Connection,
    broker_ids: Mapping[str, str],
    read_topics: Collection[str],
    seen_at: datetime,
) -> list[TopicIdChange]:
    """Compare the broker's topic ids with DuckDB's; record them if none changed.

    Args:
        conn: the writer's connection, not inside a transaction.
        broker_ids: topic name -> the id the broker gives it (topics it gives none for left out).
        read_topics: the topics DuckDB holds offsets for.
        seen_at: when the broker was asked (naive UTC).

    Returns:
        The topics read from whose id changed, by name; empty when the ids were recorded.
    """
    with transaction(conn):
        stored = {
            str(t): str(i) for t, i in conn.execute(sql_text("sink/topic_ids.sql")).fetchall()
        }
        changed = [
            TopicIdChange(topic, stored[topic], broker_id)
            for topic, broker_id in sorted(broker_ids.items())
            if topic in read_topics and stored.get(topic, broker_id) != broker_id
        ]
        if changed:
            return changed
        new = {t: i for t, i in broker_ids.items() if stored.get(t) != i}
        if new:
            conn.execute(
                sql_text("sink/store_topic_ids.sql"),
                {"topic": list(new), "topic_id": list(new.values()), "seen_at": seen_at},
            )
    return []
