"""Alert rules over the record, and their lifecycle through Debian's real Alertmanager and a
real Kafka broker: fire once, dedupe repeats, resolve when the condition ends."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from kafka import KafkaConsumer

from streams.sink_duckdb import DuckDBSink
from taskgov.serve.alert_rules import RuleSettings, borrow_blocked, evaluate
from taskgov.serve.alerting import Deliveries
from taskgov.serve.jobs import AlertJob
from tests.serve.daemons import alertmanager, get_json
from tests.serve.scenarios import BIG_MESSAGE, G5, borrow_blocked_events, record
from tests.sql.builders import make_workload

SEED_END = datetime(2025, 1, 1, 0, 10, tzinfo=UTC)


@pytest.fixture
def blocked_db(tmp_path: Path) -> Path:
    return record(tmp_path / "blocked.duckdb", borrow_blocked_events())


def _names(db: Path, rules: RuleSettings, now: datetime) -> list[dict[str, str]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return [alert.labels for alert in evaluate(conn, rules, now)]


RULE_CASES = [
    pytest.param(
        RuleSettings(starvation_min_minutes=5),
        SEED_END,
        [
            {
                "alertname": "TaskgovStarvation",
                "severity": "warning",
                "team": "team-a",
                "instance_type": G5,
            }
        ],
        id="team-a has starved 5 minutes at the end of the seed",
    ),
    pytest.param(
        RuleSettings(starvation_min_minutes=6, thrash_count=1, thrash_window_s=600),
        SEED_END,
        [
            {
                "alertname": "TaskgovPreemptionThrash",
                "severity": "warning",
                "cluster": "seed",
                "team": team,
                "cluster_queue": f"hyperpod-ns-{team}-clusterqueue",
                "workload": workload,
            }
            for team, workload in [
                ("team-a", "hyperpod-ns-team-a/pytorchjob-imagenet-gpu-team-a-1-3217d"),
                ("team-b", "hyperpod-ns-team-b/pytorchjob-hyperpod-cli-mnist-team-b-14c52"),
            ]
        ],
        id="with a threshold of one preemption in 10 minutes, Job 1 and Job 2 thrash",
    ),
    pytest.param(
        RuleSettings(starvation_min_minutes=6, thrash_count=2),
        SEED_END,
        [],
        id="nobody was preempted twice and 5 minutes of starvation is under 6",
    ),
    pytest.param(
        RuleSettings(starvation_min_minutes=6, max_lag_s=600),
        SEED_END + timedelta(seconds=601),
        [{"alertname": "TaskgovPipelineLag", "severity": "critical"}],
        id="a record more than 10 minutes behind the clock is pipeline lag",
    ),
]


@pytest.mark.parametrize(("rules", "now", "want_labels"), RULE_CASES)
def test_rules_on_the_seed(
    seed_db: Path, rules: RuleSettings, now: datetime, want_labels: list[dict[str, str]]
) -> None:
    assert _names(seed_db, rules, now) == want_labels


def test_borrow_blocked_names_the_workload_and_its_limit(blocked_db: Path) -> None:
    with duckdb.connect(str(blocked_db), read_only=True) as conn:
        alerts = borrow_blocked(conn, RuleSettings())
    assert [(a.labels, a.annotations["description"]) for a in alerts] == [
        (
            {
                "alertname": "TaskgovBorrowBlocked",
                "severity": "warning",
                "cluster": "test-cluster",
                "team": "team-a",
                "cluster_queue": "team-a-cq",
                "instance_type": G5,
                "workload": "hyperpod-ns-team-a/big",
            },
            "hyperpod-ns-team-a/big needs 4 accelerators of ml.g5.8xlarge but team-a-cq may "
            "hold at most 2 (nominal 2 + borrowingLimit 0) while the cohort has 6 idle; raise "
            "the borrowing limit to admit it.",
        )
    ]


def _kafka_records(bootstrap: str, topic: str) -> list[tuple[str, str]]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1500,
    )
    try:
        return [
            (json.loads(r.value)["status"], json.loads(r.value)["labels"]["alertname"])
            for r in consumer
        ]
    finally:
        consumer.close()


def _borrow_blocked_job(db: Path, alertmanager_url: str, bootstrap: str, topic: str) -> AlertJob:
    return AlertJob(
        db,
        # Only the borrow-blocked rule can fire (team-a also starves, by definition).
        RuleSettings(max_lag_s=10**9, starvation_min_minutes=10**6),
        Deliveries(alertmanager_url, bootstrap, topic),
        timedelta(minutes=1),
        # Alertmanager compares endsAt with its own clock, so the job keeps real time.
        clock=lambda: datetime.now(UTC),
    )


def test_an_alert_fires_once_dedupes_survives_a_restart_and_resolves(
    blocked_db: Path, tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    if not shutil.which("prometheus-alertmanager"):
        pytest.fail("prometheus-alertmanager is not installed (scripts/test.sh installs it)")
    with alertmanager(tmp_path) as base:
        job = _borrow_blocked_job(blocked_db, base, kafka_bootstrap, kafka_topic)
        # 1. fire: Alertmanager holds the alert, Kafka one 'firing' record.
        job.run_once()
        held = get_json(f"{base}/api/v2/alerts")
        assert [(a["labels"]["workload"], a["status"]["state"]) for a in held] == [
            ("hyperpod-ns-team-a/big", "active")
        ]
        assert held[0]["startsAt"].startswith("2024-05-01T00:00:00")
        # 2. dedupe: evaluating again changes nothing anywhere.
        job.run_once()
        job.run_once()
        assert len(get_json(f"{base}/api/v2/alerts")) == 1
        assert _kafka_records(kafka_bootstrap, kafka_topic) == [("firing", "TaskgovBorrowBlocked")]
        # A restarted server reads Kafka back: the alert is still active, nothing new is sent.
        job = _borrow_blocked_job(blocked_db, base, kafka_bootstrap, kafka_topic)
        job.run_once()
        assert len(get_json(f"{base}/api/v2/alerts")) == 1
        assert _kafka_records(kafka_bootstrap, kafka_topic) == [("firing", "TaskgovBorrowBlocked")]
        # 3. resolve: the workload is deleted, so the condition ends.
        with DuckDBSink(str(blocked_db)) as sink:
            sink.add_all(
                make_workload("big")
                .team("team-a")
                .gpus(4)
                .flavor(G5)
                .event("00:00", "submitted")
                .event("00:00:01", "pending", message=BIG_MESSAGE)
                .event("00:21", "deleted")
                .events()
            )
            sink.flush()
        job.run_once()
        assert get_json(f"{base}/api/v2/alerts") == []
        assert _kafka_records(kafka_bootstrap, kafka_topic) == [
            ("firing", "TaskgovBorrowBlocked"),
            ("resolved", "TaskgovBorrowBlocked"),
        ]
        # The restarted server's history: the firing it read back, the resolution it sent.
        assert [t.status for t in job.book.history] == ["firing", "resolved"]
        [episode] = job.payload({})["episodes"]
        assert episode["resolved_at"] == job.book.history[1].at.isoformat()
