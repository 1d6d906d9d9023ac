"""Shared fixtures: one real Kafka broker per test session and a fresh topic per test.

The broker is ``TASKGOV_KAFKA_BOOTSTRAP`` when set (any Kafka, e.g. MSK), else a local Tansu
started with ``taskgov.broker`` and stopped at the end of the session. In CI (``CI=true``) a
broker that cannot start fails the run; elsewhere the tests that need it are skipped.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

KAFKA_TOPIC_PARTITIONS = 3


def in_ci() -> bool:
    """True on a CI runner, where a missing broker must fail the run, never skip it."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of the session's broker: TASKGOV_KAFKA_BOOTSTRAP or a local Tansu."""
    from taskgov.broker import BrokerError, start_broker, stop_broker

    configured = os.environ.get("TASKGOV_KAFKA_BOOTSTRAP", "").strip()
    if configured:
        yield configured
        return
    state_dir = tmp_path_factory.mktemp("kafka-broker")
    try:
        info = start_broker(state_dir)
    except BrokerError as error:
        if in_ci():
            pytest.fail(f"CI needs a Kafka broker and the local one cannot start: {error}")
        pytest.skip(f"no Kafka broker: set TASKGOV_KAFKA_BOOTSTRAP or fix the local one: {error}")
    try:
        yield info.bootstrap
    finally:
        stop_broker(state_dir)


@pytest.fixture
def kafka_topic(kafka_bootstrap: str) -> Iterator[str]:
    """A new uuid-named topic with 3 partitions, deleted afterwards (best effort)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    from taskgov.broker import ensure_topics

    topic = f"test-{uuid.uuid4().hex}"
    ensure_topics(kafka_bootstrap, {topic: KAFKA_TOPIC_PARTITIONS})
    yield topic
    # Deleting matters on a shared broker; on the in-memory local one it only frees memory.
    with (
        contextlib.suppress(KafkaError),
        KafkaAdminClient(bootstrap_servers=kafka_bootstrap) as admin,
    ):
        admin.delete_topics([topic])


def pytest_configure(config: pytest.Config) -> None:
    """Silence kafka-python 3.x's own importlib.resources deprecations (hundreds per run).

    That is why this file imports kafka (and taskgov.broker) inside the fixtures: a module-level
    import would run before this filter exists.
    """
    config.addinivalue_line(
        "filterwarnings", r"ignore:(open|read)_text is deprecated:DeprecationWarning"
    )
