"""The local Tansu broker, topics and bootstrap resolution, against real brokers (no mocks)."""

from __future__ import annotations

import json
import os
import signal
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from taskgov.broker import (
    BrokerBinaryMissing,
    BrokerInfo,
    BrokerNotConfigured,
    BrokerNotReady,
    BrokerStatus,
    TopicError,
    broker_status,
    ensure_topics,
    local_broker,
    resolve_bootstrap,
    start_broker,
    stop_broker,
)
from taskgov.cli.broker import broker_group
from taskgov.settings import Settings


@pytest.fixture(scope="module")
def running_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, BrokerInfo]]:
    """A local broker of this module's own, whatever TASKGOV_KAFKA_BOOTSTRAP says."""
    state_dir = tmp_path_factory.mktemp("running-broker")
    with local_broker(state_dir) as info:
        yield state_dir, info


def killed_broker(state_dir: Path) -> BrokerInfo:
    """A broker that died behind our back (SIGKILL): its record stays, its process is gone."""
    info = start_broker(state_dir)
    os.kill(info.pid, signal.SIGKILL)
    os.waitpid(info.pid, 0)
    return info


def fake_broker_binary(tmp_path: Path, script: str) -> Path:
    """An executable standing in for Tansu, to see how start_broker handles a bad broker."""
    binary = tmp_path / "fake-tansu"
    binary.write_text(f"#!/bin/sh\n{script}\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary


# One walk through the CLI: (arguments, want_exit_code, text the output must contain).
CLI_ROUND_TRIP = [
    (["status"], 1, "absent"),
    (["start"], 0, "broker started: pid"),
    (["start"], 0, "broker already running"),
    (["status"], 0, "running"),
    (["stop"], 0, "broker stopped: pid"),
    (["stop"], 0, "nothing to stop"),
    (["status"], 1, "absent"),
]


def test_broker_cli_start_status_stop_round_trip(tmp_path: Path) -> None:
    runner = CliRunner()
    try:
        got = [
            (args, result.exit_code, want_output in result.output)
            for args, _, want_output in CLI_ROUND_TRIP
            for result in [runner.invoke(broker_group, [*args, "--state-dir", str(tmp_path)])]
        ]
    finally:
        stop_broker(tmp_path)
    assert got == [(args, want_exit_code, True) for args, want_exit_code, _ in CLI_ROUND_TRIP]


@pytest.mark.parametrize(
    ("output", "parse"),
    [
        pytest.param("json", json.loads, id="json"),
        pytest.param("yaml", yaml.safe_load, id="yaml"),
    ],
)
def test_broker_cli_status_machine_readable(
    running_broker: tuple[Path, BrokerInfo], output: str, parse: object
) -> None:
    state_dir, info = running_broker
    result = CliRunner().invoke(
        broker_group, ["status", "--state-dir", str(state_dir), "-o", output]
    )
    assert result.exit_code == 0, result.output
    want_rows = [
        {
            "state": "running",
            "pid": info.pid,
            "bootstrap": info.bootstrap,
            "started_at": info.started_at.isoformat(),
            "log": str(info.log),
            "state_dir": str(state_dir),
        }
    ]
    assert parse(result.output) == want_rows  # type: ignore[operator]


def test_broker_cli_status_reads_state_dir_from_environment(tmp_path: Path) -> None:
    result = CliRunner().invoke(broker_group, ["status"], env={"TASKGOV_STATE_DIR": str(tmp_path)})
    assert (result.exit_code, str(tmp_path) in result.output) == (1, True), result.output


def test_start_broker_is_idempotent(running_broker: tuple[Path, BrokerInfo]) -> None:
    state_dir, info = running_broker
    assert start_broker(state_dir) == info


def stopped_broker(state_dir: Path) -> None:
    """A broker started and stopped with stop_broker: nothing is left recorded."""
    start_broker(state_dir)
    stop_broker(state_dir)


@pytest.mark.parametrize(
    "make_dead_broker",
    [
        pytest.param(stopped_broker, id="stopped with stop_broker: no record, not running"),
        pytest.param(killed_broker, id="killed behind our back: record stays, not running"),
    ],
)
def test_broker_status_reports_a_stopped_broker_not_running(
    tmp_path: Path, make_dead_broker: Callable[[Path], BrokerInfo | None]
) -> None:
    recorded = make_dead_broker(tmp_path)
    status = broker_status(tmp_path)
    want = BrokerStatus(tmp_path, recorded, pid_alive=False, port_answers=False)
    assert (status, status.running) == (want, False)
    # stop is idempotent: it removes whatever record is left, then finds nothing.
    assert (stop_broker(tmp_path), stop_broker(tmp_path)) == (recorded, None)


def test_start_broker_without_binary_names_the_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALF_TANSU_BIN", str(tmp_path / "no-such-tansu"))
    with pytest.raises(BrokerBinaryMissing) as caught:
        start_broker(tmp_path)
    assert "no-such-tansu" in caught.value.detail


@pytest.mark.parametrize(
    ("script", "want_reason", "want_log_tail"),
    [
        pytest.param(
            'echo "config error: bad listener $3"; exit 3',
            "exited with code 3 before it was ready",
            "config error: bad listener tcp://127.0.0.1:",
            id="a broker that exits at once: its code and log tail",
        ),
        pytest.param(
            'echo "stuck"; sleep 30',
            "did not answer Kafka requests within 0.5 s",
            "stuck",
            id="a broker that never listens: times out, is killed",
        ),
    ],
)
def test_start_broker_reports_a_broker_that_is_never_ready(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    script: str,
    want_reason: str,
    want_log_tail: str,
) -> None:
    monkeypatch.setenv("CALF_TANSU_BIN", str(fake_broker_binary(tmp_path, script)))
    with pytest.raises(BrokerNotReady) as caught:
        start_broker(tmp_path / "state", timeout_s=0.5)
    error = caught.value
    assert (error.reason, error.log_tail.startswith(want_log_tail)) == (want_reason, True)
    assert broker_status(tmp_path / "state").info is None


@pytest.mark.parametrize(
    ("configured", "state", "want"),
    [
        pytest.param(
            "kafka-1:9092,kafka-2:9092",
            "none",
            "kafka-1:9092,kafka-2:9092",
            id="configured servers win",
        ),
        pytest.param("", "running", "local", id="else the running local broker"),
        pytest.param(
            "",
            "none",
            "no Kafka broker configured (no {state_dir}/broker.json): run `taskgov broker start` "
            "or set TASKGOV_KAFKA_BOOTSTRAP=host:port",
            id="nothing configured: tells the user both ways out",
        ),
        pytest.param(
            "",
            "killed",
            "no Kafka broker configured (pid {pid} recorded in {state_dir}/broker.json is not running): "
            "run `taskgov broker start` or set TASKGOV_KAFKA_BOOTSTRAP=host:port",
            id="a dead local broker is not used",
        ),
    ],
)
def test_resolve_bootstrap(
    tmp_path: Path, running_broker: tuple[Path, BrokerInfo], configured: str, state: str, want: str
) -> None:
    settings = Settings(kafka_bootstrap=configured)
    if state == "running":
        state_dir, info = running_broker
        assert resolve_bootstrap(settings, state_dir) == info.bootstrap
        return
    pid = killed_broker(tmp_path).pid if state == "killed" else 0
    want = want.format(state_dir=tmp_path, pid=pid)
    if configured:
        assert resolve_bootstrap(settings, tmp_path) == want
        return
    with pytest.raises(BrokerNotConfigured) as caught:
        resolve_bootstrap(settings, tmp_path)
    assert str(caught.value) == want
    assert (caught.value.state_dir, caught.value.stale is None) == (tmp_path, state == "none")


def test_ensure_topics_is_idempotent(kafka_bootstrap: str) -> None:
    topics = {f"test-{uuid.uuid4().hex}-{n}": n for n in (3, 1)}
    ensure_topics(kafka_bootstrap, topics)
    ensure_topics(kafka_bootstrap, topics)
    with KafkaAdminClient(bootstrap_servers=kafka_bootstrap) as admin:
        described = admin.describe_topics(list(topics))
    assert {t["name"]: len(t["partitions"]) for t in described} == topics


@pytest.mark.parametrize(
    ("topic", "partitions", "want_error_code"),
    [
        pytest.param("has space", 1, 17, id="a name Kafka rejects (Tansu would accept it)"),
        pytest.param("..", 1, 17, id="dot-dot is not a topic name"),
        pytest.param("x" * 250, 1, 17, id="a name longer than 249 characters"),
        pytest.param("fine", 0, 37, id="zero partitions (Tansu would accept it)"),
    ],
)
def test_ensure_topics_rejects_what_kafka_rejects(
    kafka_bootstrap: str, topic: str, partitions: int, want_error_code: int
) -> None:
    with pytest.raises(TopicError) as caught:
        ensure_topics(kafka_bootstrap, {topic: partitions})
    error = caught.value
    assert (error.bootstrap, error.topic, error.error_code) == (
        kafka_bootstrap,
        topic,
        want_error_code,
    )


def test_ensure_topics_names_an_unreachable_broker() -> None:
    with pytest.raises(TopicError) as caught:
        ensure_topics("127.0.0.1:9", {"orders": 1}, timeout_s=0.5)
    error = caught.value
    assert (error.bootstrap, error.topic, error.error_code) == ("127.0.0.1:9", "orders", None)
    assert str(error).startswith(
        "cannot create topic 'orders' on broker 127.0.0.1:9: broker unreachable"
    )


def test_kafka_round_trip_of_1000_records(kafka_bootstrap: str, kafka_topic: str) -> None:
    want = [f"record-{i}".encode() for i in range(1000)]
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    for i, value in enumerate(want):
        producer.send(kafka_topic, key=f"key-{i % 7}".encode(), value=value)
    producer.flush(timeout=30)
    producer.close()

    consumer = KafkaConsumer(
        kafka_topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,  # Tansu holds a group join for half the session timeout
        heartbeat_interval_ms=1000,
    )
    got: list[tuple[bytes, bytes]] = []
    deadline = time.monotonic() + 60
    while len(got) < len(want) and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            got.extend((r.key, r.value) for r in records)
    for records in consumer.poll(timeout_ms=1000).values():  # nothing beyond the 1,000
        got.extend((r.key, r.value) for r in records)
    consumer.close()

    assert sorted(value for _, value in got) == sorted(want)
    # Invariant: one key lands on one partition, so its records come back in the order sent.
    for key in {key for key, _ in got}:
        values = [int(value.split(b"-")[1]) for k, value in got if k == key]
        assert values == sorted(values), key
