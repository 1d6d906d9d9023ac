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
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from taskgov.broker import BrokerInfo

KAFKA_TOPIC_PARTITIONS = 3


def in_ci() -> bool:
    """True on a CI runner, where a missing broker must fail the run, never skip it."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


@contextlib.contextmanager
def local_broker(state_dir: Path, *, ci_needs: str, else_skip: str) -> Iterator[BrokerInfo]:
    """A local Tansu in ``state_dir``, stopped afterwards. One that cannot start fails the
    test in CI (``ci_needs: error``) and skips it elsewhere (``else_skip: error``)."""
    from taskgov.broker import BrokerError, start_broker, stop_broker

    try:
        info = start_broker(state_dir)
    except BrokerError as error:
        if in_ci():
            pytest.fail(f"{ci_needs}: {error}")
        pytest.skip(f"{else_skip}: {error}")
    try:
        yield info
    finally:
        stop_broker(state_dir)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of the session's broker: TASKGOV_KAFKA_BOOTSTRAP or a local Tansu."""
    configured = os.environ.get("TASKGOV_KAFKA_BOOTSTRAP", "").strip()
    if configured:
        yield configured
        return
    with local_broker(
        tmp_path_factory.mktemp("kafka-broker"),
        ci_needs="CI needs a Kafka broker and the local one cannot start",
        else_skip="no Kafka broker: set TASKGOV_KAFKA_BOOTSTRAP or fix the local one",
    ) as info:
        yield info.bootstrap


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
