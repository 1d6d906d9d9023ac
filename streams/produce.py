"""Send keyed records to a topic and wait until the broker holds every one of them.

Alert senders (the Kafka record of starvation alerts and of alert transitions) need the same
at-least-once hand-over: a producer with ``acks=all``, every future resolved, the producer
closed whatever happens. Callers turn the one failure into their own error.
"""

from __future__ import annotations

from collections.abc import Iterable

from kafka import KafkaProducer
from kafka.errors import KafkaError


class DeliveryFailed(Exception):
    """The broker could not be reached, or did not take every record; the text says which."""


def send_all(bootstrap: str, topic: str, records: Iterable[tuple[bytes, bytes]]) -> None:
    """Send each ``(key, value)`` to ``topic`` and wait until the broker has them all.

    Raises:
        DeliveryFailed: ``broker unreachable: ...`` or the broker's own error.
    """
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=5)
    except KafkaError as error:
        raise DeliveryFailed(f"broker unreachable: {error}") from None
    try:
        futures = [producer.send(topic, key=key, value=value) for key, value in records]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)
    except KafkaError as error:
        raise DeliveryFailed(str(error)) from None
    finally:
        producer.close()
