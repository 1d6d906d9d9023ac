"""Prometheus metrics read from the DuckDB record at scrape time, in Kueue's style.

Kueue exports ``kueue_cluster_queue_resource_usage{cluster_queue, flavor, resource}`` and
friends; ours are ``taskgov_...`` with the labels ``cluster``, ``team``, ``cluster_queue``,
``instance_type`` and ``priority_class``. A custom collector (``prometheus_client``'s
documented way to export values that live elsewhere) runs the ``sql/serve/metrics_*.sql``
queries on each scrape, so the numbers are always the record's, with nothing cached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from kafka.errors import KafkaError  # type: ignore[import-untyped]
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from taskgov.serve.alert_rules import RULES
from taskgov.serve.records import QUERIES, REPORTS, has_table, reading, run
from taskgov.store import Connection

LOG = logging.getLogger("taskgov.serve.metrics")
# Upper bounds of the wait histogram, seconds: 1 min to 1 day, like Kueue's admission waits.
WAIT_BOUNDS_S = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0)
QUEUE_LABELS = ["cluster", "team", "cluster_queue", "instance_type"]
USAGE = {
    "guaranteed": "Nominal quota (the team's guarantee), accelerators, in the last minute.",
    "used": "Accelerators held by admitted workloads, averaged over the last minute.",
    "borrowed": "Accelerators used above the nominal quota, borrowed from the cohort.",
    "lent": "Unused nominal accelerators that others in the cohort borrowed.",
    "idle": "Nominal accelerators nobody used.",
    "pending": "Accelerators requested by pending workloads, averaged over the last minute.",
}


def _utc_seconds(moment: object) -> float:
    assert isinstance(moment, str)
    return datetime.fromisoformat(moment.removesuffix("Z")).replace(tzinfo=UTC).timestamp()


class RecordCollector(Collector):
    """Collects every ``taskgov_`` metric from the record at ``path``.

    Args:
        path: the DuckDB file.
        clock: the current time (injected, so lag is testable).
        kafka_bootstrap: the broker the worker reads (empty: no lag in records).
    """

    def __init__(
        self, path: Path, clock: Callable[[], datetime], kafka_bootstrap: str = ""
    ) -> None:
        self.path, self.clock, self.kafka_bootstrap = path, clock, kafka_bootstrap

    def collect(self) -> Iterator[Metric]:
        """Every family, read in one read-only connection."""
        with reading(self.path) as conn:
            yield from _usage(conn)
            yield from _pending(conn)
            yield from _waits(conn)
            yield from _preemptions(conn)
            yield from _starvation(conn)
            yield from _pipeline(conn, self.clock())
            yield from _recommendations(conn)
            yield from _borrow_blocked(conn)
            yield from _applies(conn)
            yield from _audits(conn)
            offsets = run(conn, QUERIES["metrics_offsets"], {}).records
        if self.kafka_bootstrap:
            yield from _records_lag(self.kafka_bootstrap, offsets)

    def describe(self) -> Iterator[Metric]:
        """Nothing: describing would read the record at registration."""
        return iter(())


def _usage(conn: Connection) -> Iterator[Metric]:
    rows = run(conn, QUERIES["metrics_usage"], {}).records
    for amount, text in USAGE.items():
        family = GaugeMetricFamily(f"taskgov_{amount}_accelerators", text, labels=QUEUE_LABELS)
        for row in rows:
            family.add_metric([str(row[label]) for label in QUEUE_LABELS], float(row[amount]))
        yield family


def _pending(conn: Connection) -> Iterator[Metric]:
    labels = [*QUEUE_LABELS, "priority_class"]
    workloads = GaugeMetricFamily(
        "taskgov_pending_workloads", "Workloads pending at the watermark.", labels=labels
    )
    requested = GaugeMetricFamily(
        "taskgov_pending_workload_accelerators",
        "Accelerators requested by workloads pending at the watermark.",
        labels=labels,
    )
    for row in run(conn, QUERIES["metrics_pending"], {}).records:
        values = [str(row[label]) for label in labels]
        workloads.add_metric(values, float(row["workloads"]))
        requested.add_metric(values, float(row["accelerators"]))
    yield workloads
    yield requested


def _waits(conn: Connection) -> Iterator[Metric]:
    labels = ["cluster", "team", "priority_class", "wait_kind"]
    family = HistogramMetricFamily(
        "taskgov_workload_wait_seconds",
        "Time from creation (initial) or eviction (readmission) to admission.",
        labels=labels,
    )
    # Per label set: waits per bucket (the last past every bound) and total seconds.
    series: dict[tuple[str, ...], tuple[list[int], float]] = {}
    for row in run(conn, QUERIES["metrics_waits"], {"bounds": list(WAIT_BOUNDS_S)}).records:
        key = tuple(str(row[label]) for label in labels)
        counts, total = series.setdefault(key, ([0] * (len(WAIT_BOUNDS_S) + 1), 0.0))
        counts[int(row["bucket"])] += int(row["waits"])
        series[key] = (counts, total + float(row["wait_s_sum"]))
    for key, (counts, total) in series.items():
        cumulative = [sum(counts[: i + 1]) for i in range(len(counts))]
        bounds = [f"{bound:g}" for bound in WAIT_BOUNDS_S] + ["+Inf"]
        buckets = [(b, float(n)) for b, n in zip(bounds, cumulative, strict=True)]
        family.add_metric(list(key), buckets, total)
    yield family


def _preemptions(conn: Connection) -> Iterator[Metric]:
    labels = ["cluster", "reason", "team", "priority_class", "preemptor_team"]
    family = CounterMetricFamily(
        "taskgov_preemptions",
        "Workloads preempted, by Kueue's reason, victim team and class, and preemptor team.",
        labels=labels,
    )
    for row in run(conn, QUERIES["metrics_preemptions"], {}).records:
        family.add_metric([str(row[label]) for label in labels], float(row["preemptions"]))
    yield family


def _starvation(conn: Connection) -> Iterator[Metric]:
    labels = ["team", "instance_type"]
    total = CounterMetricFamily(
        "taskgov_starvation_seconds",
        "Time a team had pending demand while part of its own guarantee was unused.",
        labels=labels,
    )
    ongoing = GaugeMetricFamily(
        "taskgov_starvation_ongoing_seconds",
        "How long the starvation episode reaching the last minute has lasted (0: none).",
        labels=labels,
    )
    seconds: dict[tuple[str, str], float] = {}
    current: dict[tuple[str, str], float] = {}
    last = conn.execute("SELECT max(minute) FROM usage_minutes").fetchone()
    last_minute = last[0].isoformat() + "Z" if last and last[0] else None
    for episode in run(conn, REPORTS["starvation"], {}).records:
        key = (str(episode["team"]), str(episode["instance_type"]))
        minutes_s = 60.0 * float(episode["starved_minutes"])
        seconds[key] = seconds.get(key, 0.0) + minutes_s
        current.setdefault(key, 0.0)
        if last_minute and _utc_seconds(episode["ended_at"]) > _utc_seconds(last_minute):
            current[key] = minutes_s
    for key, value in sorted(seconds.items()):
        total.add_metric(list(key), value)
        ongoing.add_metric(list(key), current[key])
    yield total
    yield ongoing


def _pipeline(conn: Connection, now: datetime) -> Iterator[Metric]:
    ingested = CounterMetricFamily(
        "taskgov_events_ingested", "Events stored in the record.", labels=["cluster", "kind"]
    )
    dead = CounterMetricFamily(
        "taskgov_dead_letters",
        "Records the pipeline could not read, stored as dead letters.",
        labels=["cluster", "kind", "reason"],
    )
    for row in run(conn, QUERIES["metrics_pipeline"], {}).records:
        kind = str(row["kind"])
        if kind.startswith("dead_letter:"):
            labels = [str(row["cluster"]), kind.split(":", 1)[1], str(row["reason"])]
            dead.add_metric(labels, float(row["records"]))
        else:
            ingested.add_metric([str(row["cluster"]), kind], float(row["records"]))
    yield ingested
    yield dead
    found = conn.execute("SELECT instant FROM aggregate_state WHERE name = 'watermark'").fetchone()
    if found is None:
        return
    watermark = found[0].replace(tzinfo=UTC).timestamp()
    yield GaugeMetricFamily(
        "taskgov_watermark_timestamp_seconds",
        "The instant the aggregates are built to (Unix time).",
        value=watermark,
    )
    yield GaugeMetricFamily(
        "taskgov_consumer_lag_seconds",
        "How far the record trails the clock: now minus the watermark.",
        value=max(now.timestamp() - watermark, 0.0),
    )


def _recommendations(conn: Connection) -> Iterator[Metric]:
    if not has_table(conn, "recommendation_runs"):
        return
    runs = CounterMetricFamily(
        "taskgov_recommendation_runs", "Recommendation runs stored, by outcome.", labels=["status"]
    )
    last = GaugeMetricFamily(
        "taskgov_last_recommendation_timestamp_seconds",
        "When the latest recommendation run with each outcome was made (Unix time).",
        labels=["status", "run_id"],
    )
    for row in run(conn, QUERIES["metrics_recommendations"], {}).records:
        runs.add_metric([str(row["status"])], float(row["runs"]))
        last.add_metric(
            [str(row["status"]), str(row["latest_run_id"])], _utc_seconds(row["latest_at"])
        )
    yield runs
    yield last


def _borrow_blocked(conn: Connection) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "taskgov_borrow_blocked_workloads",
        "Workloads pending only because of their borrowingLimit while the cohort is idle.",
        labels=QUEUE_LABELS,
    )
    counts: dict[tuple[str, ...], int] = {}
    for row in run(conn, RULES["borrow_blocked"], {}).records:
        key = tuple(str(row[label]) for label in QUEUE_LABELS)
        counts[key] = counts.get(key, 0) + 1
    for key, count in sorted(counts.items()):
        family.add_metric(list(key), float(count))
    yield family


def _applies(conn: Connection) -> Iterator[Metric]:
    if not has_table(conn, "apply_runs"):
        return
    labels = ["cluster", "backend", "outcome"]
    applies = CounterMetricFamily(
        "taskgov_applies", "Applies of recommendations, by outcome.", labels=labels
    )
    last = GaugeMetricFamily(
        "taskgov_last_apply_timestamp_seconds",
        "When the latest apply with each outcome was made (Unix time).",
        labels=[*labels, "apply_id"],
    )
    for row in run(conn, QUERIES["metrics_applies"], {}).records:
        values = [str(row[label]) for label in labels]
        applies.add_metric(values, float(row["applies"]))
        last.add_metric([*values, str(row["latest_apply_id"])], _utc_seconds(row["latest_at"]))
    yield applies
    yield last


def _audits(conn: Connection) -> Iterator[Metric]:
    """The worker's log audit (``streams.agents.audit``): its last pass and what it has not
    covered yet; alert when the oldest unaudited change is much older than audit_every_s."""
    if not has_table(conn, "audit_passes"):
        return
    passed = GaugeMetricFamily(
        "taskgov_audit_last_pass_timestamp_seconds",
        "When the audit last found the aggregates equal to the log (Unix time).",
        labels=["audit"],
    )
    changes = GaugeMetricFamily(
        "taskgov_audit_unaudited_changes",
        "Refreshes of the aggregates no audit pass has covered yet.",
        labels=["audit"],
    )
    oldest = GaugeMetricFamily(
        "taskgov_audit_oldest_unaudited_change_timestamp_seconds",
        "When the oldest refresh no audit pass has covered was made (Unix time).",
        labels=["audit"],
    )
    for row in run(conn, QUERIES["metrics_audits"], {}).records:
        audit = [str(row["audit"])]
        changes.add_metric(audit, float(row["unaudited_changes"]))
        if row["last_pass_at"] is not None:
            passed.add_metric(audit, _utc_seconds(row["last_pass_at"]))
        if row["oldest_unaudited_at"] is not None:
            oldest.add_metric(audit, _utc_seconds(row["oldest_unaudited_at"]))
    yield from (passed, changes, oldest)


def _records_lag(bootstrap: str, offsets: list[dict[str, Any]]) -> Iterator[Metric]:
    """Per topic and partition the worker has consumed: the broker's end offset minus the
    next offset DuckDB holds. A broker that does not answer in 5 s leaves the family out
    (and says so in the log) rather than failing the scrape."""
    family = GaugeMetricFamily(
        "taskgov_consumer_lag_records",
        "Records on the broker the worker has not stored yet.",
        labels=["topic", "partition"],
    )
    if not offsets:
        yield family
        return
    partitions = {TopicPartition(o["topic"], o["topic_partition"]): o for o in offsets}
    try:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            ends = consumer.end_offsets(list(partitions))
        finally:
            consumer.close()
    except KafkaError as error:
        LOG.warning("event=lag_unavailable bootstrap=%s error=%r", bootstrap, str(error))
        return
    for partition, end in sorted(ends.items()):
        lag = max(int(end) - int(partitions[partition]["next_offset"]), 0)
        family.add_metric([partition.topic, str(partition.partition)], float(lag))
    yield family
