"""Read every record already on a topic, from the start, without joining a consumer group.

The alert readers (starvation alerts already sent, alert transitions) both need the topic's
whole history once: an absent topic has none, and the read ends when no record has come for
``idle_ms``. Callers parse the records and turn the one failure into their own error.
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer  # type: ignore[import-untyped]
from kafka.errors import KafkaError  # type: ignore[import-untyped]

from streams.produce import DeliveryFailed


def read_all(bootstrap: str, topic: str, *, idle_ms: int = 1500) -> list[Any]:
    """Every ``ConsumerRecord`` on ``topic``, in the order the consumer yields them.

    Raises:
        DeliveryFailed: ``broker unreachable: ...`` or the broker's own error.
    """
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=idle_ms,
            request_timeout_ms=max(idle_ms * 4, 10_000),
        )
    except KafkaError as error:
        raise DeliveryFailed(f"broker unreachable: {error}") from None
    try:
        if topic not in consumer.topics():
            return []
        consumer.subscribe([topic])
        return list(consumer)
    except KafkaError as error:
        raise DeliveryFailed(str(error)) from None
    finally:
        consumer.close()
