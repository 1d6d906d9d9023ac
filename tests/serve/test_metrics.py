"""/metrics: the record's numbers in Kueue's style, scraped by Debian's real Prometheus."""

from __future__ import annotations

import shutil
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from taskgov.serve.server import Running
from tests.serve.daemons import get_json, prometheus, wait_until

SEED = {"cluster": "seed", "instance_type": "ml.g5.8xlarge"}
TEAM_A = {**SEED, "team": "team-a", "cluster_queue": "hyperpod-ns-team-a-clusterqueue"}
TEAM_B = {**SEED, "team": "team-b", "cluster_queue": "hyperpod-ns-team-b-clusterqueue"}


def _query(base: str, promql: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?query={urllib.parse.quote(promql)}"
    answer = get_json(url)
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def _series(base: str, promql: str) -> set[tuple[tuple[tuple[str, str], ...], float]]:
    """Each result as (labels without job/instance, value)."""
    return {
        (
            tuple(sorted((k, v) for k, v in r["metric"].items() if k not in ("job", "instance"))),
            float(r["value"][1]),
        )
        for r in _query(base, promql)
    }


def _labels(name: str, value: float, **labels: str) -> tuple[tuple[tuple[str, str], ...], float]:
    return (tuple(sorted({"__name__": name, **labels}.items())), value)


# After the seed (record ends 00:10): Job 3 holds team-b's 2 GPUs, Job 1 (3 GPUs) and Job 2
# (2 GPUs) wait; team-a's guarantee of 2 sits idle, so team-a has starved for 5 minutes.
CASES = [
    pytest.param(
        "taskgov_guaranteed_accelerators",
        {
            _labels("taskgov_guaranteed_accelerators", 2.0, **TEAM_A),
            _labels("taskgov_guaranteed_accelerators", 2.0, **TEAM_B),
        },
        id="each team is guaranteed its 2 GPUs",
    ),
    pytest.param(
        "taskgov_used_accelerators > 0",
        {_labels("taskgov_used_accelerators", 2.0, **TEAM_B)},
        id="only team-b uses GPUs at the end: Job 3 on its own 2",
    ),
    pytest.param(
        "taskgov_idle_accelerators > 0",
        {_labels("taskgov_idle_accelerators", 2.0, **TEAM_A)},
        id="team-a's guarantee is idle while Job 1 waits for 3",
    ),
    pytest.param(
        "taskgov_pending_workload_accelerators",
        {
            _labels(
                "taskgov_pending_workload_accelerators",
                3.0,
                **TEAM_A,
                priority_class="training-priority",
            ),
            _labels(
                "taskgov_pending_workload_accelerators",
                2.0,
                **TEAM_B,
                priority_class="training-priority",
            ),
        },
        id="Job 1 and Job 2 are pending in their teams' ClusterQueues",
    ),
    pytest.param(
        "taskgov_preemptions_total",
        {
            _labels(
                "taskgov_preemptions_total",
                1.0,
                cluster="seed",
                reason="InCohortReclamation",
                team="team-a",
                priority_class="training-priority",
                preemptor_team="team-b",
            ),
            _labels(
                "taskgov_preemptions_total",
                1.0,
                cluster="seed",
                reason="InClusterQueue",
                team="team-b",
                priority_class="training-priority",
                preemptor_team="team-b",
            ),
        },
        id="team-b reclaimed from team-a, then Job 3 preempted Job 2 in team-b",
    ),
    pytest.param(
        "taskgov_starvation_seconds_total",
        {
            _labels(
                "taskgov_starvation_seconds_total",
                300.0,
                team="team-a",
                instance_type="ml.g5.8xlarge",
            )
        },
        id="team-a starved for 5 minutes",
    ),
    pytest.param(
        'taskgov_workload_wait_seconds_count{team="team-b"}',
        {
            _labels(
                "taskgov_workload_wait_seconds_count",
                1.0,
                cluster="seed",
                team="team-b",
                priority_class=klass,
                wait_kind="initial",
            )
            for klass in ("training-priority", "inference-priority")
        },
        id="team-b's two jobs were each admitted once",
    ),
    pytest.param(
        "taskgov_events_ingested_total",
        {
            _labels("taskgov_events_ingested_total", 17.0, cluster="seed", kind="workload"),
            _labels("taskgov_events_ingested_total", 2.0, cluster="seed", kind="cluster_queue"),
        },
        id="the record holds 17 workload and 2 ClusterQueue events",
    ),
]


@pytest.fixture(scope="module")
def scraped(seed_server: Running, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Prometheus that has scraped the seed's server at least once."""
    target = seed_server.url.removeprefix("http://").rstrip("/")
    with prometheus(tmp_path_factory.mktemp("prometheus"), target) as base:
        wait_until(
            lambda: _query(base, "taskgov_guaranteed_accelerators"), 30, "a successful scrape"
        )
        yield base


@pytest.mark.parametrize(("promql", "want_series"), CASES)
def test_prometheus_scrapes_the_seed(scraped: str, promql: str, want_series: set[Any]) -> None:
    assert _series(scraped, promql) == want_series


def test_prometheus_sees_the_target_healthy(scraped: str) -> None:
    targets = get_json(f"{scraped}/api/v1/targets")["data"]["activeTargets"]
    assert [(t["health"], t["lastError"]) for t in targets] == [("up", "")]


def test_metrics_are_plain_text_in_prometheus_format(seed_server: Running) -> None:
    with urllib.request.urlopen(seed_server.url + "metrics") as response:
        kind = response.headers["Content-Type"]
        text = response.read().decode()
    assert kind.startswith("text/plain; version=")
    assert "# TYPE taskgov_workload_wait_seconds histogram" in text


def test_the_last_apply_and_its_outcome_are_exported(seed_db: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    import duckdb
    from prometheus_client import CollectorRegistry, generate_latest

    from taskgov.serve.metrics import RecordCollector

    copy = tmp_path / "applied.duckdb"
    shutil.copy(seed_db, copy)
    with duckdb.connect(str(copy)) as conn:
        # One row as `taskgov apply` writes it (sql/schema/005_apply_audit.sql).
        conn.execute(
            "INSERT INTO apply_runs (apply_id, created_at, run_id, backend, endpoint, caller, "
            "cluster, approved, outcome, notes) VALUES (1, '2025-01-02 00:00', 1, 'kueue', "
            "'https://127.0.0.1:6443', 'admin', 'seed', true, 'applied', [])"
        )
    registry = CollectorRegistry()
    registry.register(RecordCollector(copy, lambda: datetime(2025, 1, 2, tzinfo=UTC)))
    lines = generate_latest(registry).decode().splitlines()
    assert [line for line in lines if "appl" in line and not line.startswith("#")] == [
        'taskgov_applies_total{backend="kueue",cluster="seed",outcome="applied"} 1.0',
        'taskgov_last_apply_timestamp_seconds{apply_id="1",backend="kueue",cluster="seed",'
        'outcome="applied"} 1.735776e+09',
    ]


def test_consumer_lag_in_records_against_a_real_broker(
    seed_db: Path, tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    from datetime import UTC, datetime

    import duckdb
    from kafka import KafkaProducer
    from prometheus_client import CollectorRegistry, generate_latest

    from taskgov.serve.metrics import RecordCollector

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    # One record per batch: the local Tansu broker answers "latest" with the last batch's base
    # offset + 1 (Apache Kafka: the last record's offset + 1), the same only for such batches.
    for _ in range(5):
        producer.send(kafka_topic, value=b"x", partition=0)
        producer.flush()
    producer.close()
    copy = tmp_path / "consumed.duckdb"
    shutil.copy(seed_db, copy)
    with duckdb.connect(str(copy)) as conn:
        # The worker stored the first 2 records of partition 0.
        conn.execute("INSERT INTO applied_offsets VALUES ($topic, 0, 2)", {"topic": kafka_topic})
    registry = CollectorRegistry()
    registry.register(
        RecordCollector(copy, lambda: datetime(2025, 1, 2, tzinfo=UTC), kafka_bootstrap)
    )
    lines = generate_latest(registry).decode().splitlines()
    assert [line for line in lines if line.startswith("taskgov_consumer_lag_records")] == [
        f'taskgov_consumer_lag_records{{partition="0",topic="{kafka_topic}"}} 3.0'
    ]


def test_the_log_audit_is_exported_before_and_after_a_pass(seed_db: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.utils import floatToGoString

    from taskgov.serve.metrics import RecordCollector
    from taskgov.store import audit_aggregates, connect_read_write

    copy = tmp_path / "audited.duckdb"
    shutil.copy(seed_db, copy)
    registry = CollectorRegistry()
    registry.register(RecordCollector(copy, lambda: datetime(2025, 1, 2, tzinfo=UTC)))
    series = 'taskgov_audit_{}{{audit="assert_aggregates_match_log"}} {}'

    def scraped() -> list[str]:
        lines = generate_latest(registry).decode().splitlines()
        return [line for line in lines if "audit" in line and not line.startswith("#")]

    with connect_read_write(copy) as conn:
        row = conn.execute("SELECT count(*), min(recorded_at) FROM aggregate_changes").fetchone()
    assert row is not None and row[0] > 0
    want_oldest = row[1].replace(tzinfo=UTC).timestamp()
    before = scraped()
    with connect_read_write(copy) as conn:
        assert audit_aggregates(conn) == []
        passed = conn.execute("SELECT max(passed_at) FROM audit_passes").fetchone()
    assert passed is not None
    want_pass = passed[0].replace(tzinfo=UTC).timestamp()

    assert before == [
        series.format("unaudited_changes", float(row[0])),
        series.format("oldest_unaudited_change_timestamp_seconds", floatToGoString(want_oldest)),
    ]
    assert scraped() == [
        series.format("last_pass_timestamp_seconds", floatToGoString(want_pass)),
        series.format("unaudited_changes", 0.0),
    ]
