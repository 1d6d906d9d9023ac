"""Starvation alerts: once per ongoing episode, through a real broker, read back to dedupe."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from streams.alerts import StarvationAlert, new_alerts, ongoing_starvation, read_sent
from streams.sink_duckdb import DuckDBSink
from tests.sql.scenarios import seed_events

SEED_MESSAGE = (
    "team-a has waited for ml.g5.8xlarge for 5 min since 2025-01-01 00:05 UTC (up to 3 "
    "accelerators pending) while 2 of its guaranteed accelerators were unused on average"
)


@pytest.fixture(scope="module")
def seed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed's scenario stored by the sink: Job 1 (team-a) waits from 00:05 to the end
    (00:10) while team-a's 2 guaranteed GPUs are unused."""
    path = tmp_path_factory.mktemp("alerts") / "seed.duckdb"
    with DuckDBSink(path) as sink:
        sink.add_all(seed_events())
    return path


@pytest.mark.parametrize(
    ("min_minutes", "lookback", "want"),
    [
        (1, timedelta(hours=1), [("team-a", "2025-01-01 00:05:00", 5, 0.167)]),
        (5, timedelta(hours=1), [("team-a", "2025-01-01 00:05:00", 5, 0.167)]),
        (6, timedelta(hours=1), []),
        # Read from 00:07 only: the episode shows as begun then, 3 minutes long.
        (1, timedelta(minutes=3), [("team-a", "2025-01-01 00:07:00", 3, 0.1)]),
    ],
)
def test_ongoing_starvation(
    seed_db: Path,
    min_minutes: int,
    lookback: timedelta,
    want: list[tuple[str, str, int, float]],
) -> None:
    with DuckDBSink(seed_db) as sink:
        alerts = ongoing_starvation(sink.connection, min_minutes=min_minutes, lookback=lookback)

    got = [(a.team, str(a.started_at), a.starved_minutes, a.starved_gpu_hours) for a in alerts]
    assert got == want


def _alert(team: str, started: str, as_of: str) -> StarvationAlert:
    return StarvationAlert(
        alert_id=f"{team}-{as_of}",
        team=team,
        instance_type="ml.g5.8xlarge",
        started_at=datetime.fromisoformat(started),
        starved_minutes=1,
        starved_gpu_hours=0.0,
        peak_pending_gpus=1.0,
        avg_unused_guarantee_gpus=1.0,
        as_of=datetime.fromisoformat(as_of),
        message="",
    )


@pytest.mark.parametrize(
    ("current", "sent", "want_ids"),
    [
        ([_alert("a", "2025-01-01 00:05", "2025-01-01 00:20")], [], ["a-2025-01-01 00:20"]),
        # Sent during the same episode: not again.
        (
            [_alert("a", "2025-01-01 00:05", "2025-01-01 00:20")],
            [_alert("a", "2025-01-01 00:05", "2025-01-01 00:10")],
            [],
        ),
        # The same episode read with a shorter lookback starts later; still the same one.
        (
            [_alert("a", "2025-01-01 00:08", "2025-01-01 00:20")],
            [_alert("a", "2025-01-01 00:05", "2025-01-01 00:10")],
            [],
        ),
        # A new episode after the one alerted on, and another team.
        (
            [
                _alert("a", "2025-01-01 00:30", "2025-01-01 00:40"),
                _alert("b", "2025-01-01 00:05", "2025-01-01 00:40"),
            ],
            [_alert("a", "2025-01-01 00:05", "2025-01-01 00:10")],
            ["a-2025-01-01 00:40", "b-2025-01-01 00:40"],
        ),
    ],
)
def test_new_alerts_once_per_episode(
    current: list[StarvationAlert], sent: list[StarvationAlert], want_ids: list[str]
) -> None:
    assert [a.alert_id for a in new_alerts(current, sent)] == want_ids


def _alerts_cli(*args: str, bootstrap: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "taskgov.cli", "alerts", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TASKGOV_KAFKA_BOOTSTRAP": bootstrap},
    )


def test_alerts_are_sent_once_through_kafka(seed_db: Path, kafka_bootstrap: str) -> None:
    prefix = f"alerts-{uuid.uuid4().hex[:8]}"
    common = ["--db", str(seed_db), "--min-minutes", "5", "--topic-prefix", prefix]

    first = _alerts_cli(*common, "-o", "csv", bootstrap=kafka_bootstrap)
    second = _alerts_cli(*common, "-o", "csv", bootstrap=kafka_bootstrap)

    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "team,instance_type,started_at,starved_minutes,starved_gpu_hours,peak_pending_gpus,"
        "avg_unused_guarantee_gpus,as_of",
        "team-a,ml.g5.8xlarge,2025-01-01T00:05:00,5,0.167,3.0,2.0,2025-01-01T00:10:00",
    ]
    assert first.stderr == "1 alert(s) sent, 0 already sent\n"
    assert (second.returncode, second.stderr) == (0, "0 alert(s) sent, 1 already sent\n")
    on_topic = read_sent(kafka_bootstrap, f"{prefix}.alerts")
    assert [(a.team, a.message) for a in on_topic] == [("team-a", SEED_MESSAGE)]


@pytest.mark.parametrize(
    ("args", "bootstrap", "want_code", "want_stderr"),
    [
        pytest.param(
            ["--db", "/nonexistent/x.duckdb", "--dry-run"],
            "127.0.0.1:9",
            2,
            "error: --db, /nonexistent/x.duckdb: no such database\n",
            id="no database",
        ),
        pytest.param(
            ["--lookback", "a week", "--dry-run"],
            "127.0.0.1:9",
            2,
            "error: --lookback, a week: 'a week' is not a duration like 90s, 1h30m or 500ms\n",
            id="bad duration",
        ),
        pytest.param(
            ["--topic-prefix", "down"],
            "127.0.0.1:9",
            1,
            "error: cannot create topic 'down.alerts' on broker 127.0.0.1:9: broker unreachable",
            id="broker down",
        ),
    ],
)
def test_alerts_bad_input(
    seed_db: Path, args: list[str], bootstrap: str, want_code: int, want_stderr: str
) -> None:
    result = _alerts_cli("--db", str(seed_db), *args, bootstrap=bootstrap)

    assert result.returncode == want_code
    assert result.stderr.startswith(want_stderr), result.stderr
