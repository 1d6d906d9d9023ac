"""Alert rules over the DuckDB record: which conditions hold now.

Each rule returns the alerts whose condition holds at the record's watermark, identified by
their labels (Alertmanager's identity of an alert), with the instant the condition began.
``taskgov.serve.alerting`` turns successive evaluations into a lifecycle (fire once, resolve
when the condition ends). The same rules over our Prometheus metrics ship as a
PrometheusRule in ``deploy/prometheus-rule.yaml``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from streams.alerts import ongoing_starvation, watermark
from taskgov.serve.records import has_table, load_reports, run
from taskgov.store import SQL_DIR, Connection

RULES = load_reports(SQL_DIR / "alerts")


class RuleSettings(BaseModel):
    """Thresholds of the rules; every field has a ``TASKGOV_ALERT_*`` twin through serve."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # A starvation episode alerts once it has lasted this long.
    starvation_min_minutes: int = Field(default=15, ge=1)
    # How far back starvation episodes are read.
    starvation_lookback_s: int = Field(default=7 * 86400, ge=60)
    # A workload preempted this many times within the window is thrashing.
    thrash_count: int = Field(default=3, ge=1)
    thrash_window_s: int = Field(default=3600, ge=1)
    # The record trailing the clock by more than this is pipeline lag.
    max_lag_s: int = Field(default=600, ge=1)


class Alert(BaseModel):
    """One condition that holds, as Alertmanager's v2 API names things."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime

    @property
    def fingerprint(self) -> str:
        """Alertmanager's identity of an alert: its label set."""
        return ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def starvation(conn: Connection, rules: RuleSettings) -> list[Alert]:
    """A team waits while part of its own guarantee is unused (streams.alerts' episodes)."""
    episodes = ongoing_starvation(
        conn,
        min_minutes=rules.starvation_min_minutes,
        lookback=timedelta(seconds=rules.starvation_lookback_s),
    )
    return [
        Alert(
            labels={
                "alertname": "TaskgovStarvation",
                "severity": "warning",
                "team": e.team,
                "instance_type": e.instance_type,
            },
            annotations={
                "summary": f"{e.team} is starved of {e.instance_type}",
                "description": e.message,
            },
            starts_at=_utc(e.started_at),
        )
        for e in episodes
    ]


def preemption_thrash(conn: Connection, rules: RuleSettings) -> list[Alert]:
    """A workload preempted ``thrash_count`` times within ``thrash_window_s``."""
    given = {"count": rules.thrash_count, "window_s": rules.thrash_window_s}
    alerts = []
    for row in run(conn, RULES["preemption_thrash"], given).records:
        workload = f"{row['namespace']}/{row['name']}"
        alerts.append(
            Alert(
                labels={
                    "alertname": "TaskgovPreemptionThrash",
                    "severity": "warning",
                    "cluster": row["cluster"],
                    "team": row["team"],
                    "cluster_queue": row["cluster_queue"],
                    "workload": workload,
                },
                annotations={
                    "summary": f"{workload} was preempted {row['preemptions']} times",
                    "description": (
                        f"{workload} was preempted {row['preemptions']} times within "
                        f"{rules.thrash_window_s} s ({', '.join(row['reasons'])}); each "
                        "preemption discards its progress."
                    ),
                },
                starts_at=_parse(row["started_at"]),
            )
        )
    return alerts


def borrow_blocked(conn: Connection, rules: RuleSettings) -> list[Alert]:
    """A workload pending only because of its borrowingLimit while the cohort is idle."""
    alerts = []
    for row in run(conn, RULES["borrow_blocked"], {}).records:
        workload = f"{row['namespace']}/{row['name']}"
        ceiling = row["nominal"] + row["borrowing_limit"]
        alerts.append(
            Alert(
                labels={
                    "alertname": "TaskgovBorrowBlocked",
                    "severity": "warning",
                    "cluster": row["cluster"],
                    "team": row["team"],
                    "cluster_queue": row["cluster_queue"],
                    "instance_type": row["instance_type"],
                    "workload": workload,
                },
                annotations={
                    "summary": f"{workload} is blocked by its borrowing limit",
                    "description": (
                        f"{workload} needs {row['accelerators']} accelerators of "
                        f"{row['instance_type']} but {row['cluster_queue']} may hold at most "
                        f"{ceiling} (nominal {row['nominal']} + borrowingLimit "
                        f"{row['borrowing_limit']}) while the cohort has {row['cohort_idle']:g} "
                        "idle; raise the borrowing limit to admit it."
                    ),
                },
                starts_at=_parse(row["started_at"]),
            )
        )
    return alerts


def pipeline_lag(conn: Connection, rules: RuleSettings, now: datetime) -> list[Alert]:
    """The record trails the clock by more than ``max_lag_s``."""
    reached = watermark(conn)
    if reached is None:
        return []
    lag_s = (now - _utc(reached)).total_seconds()
    if lag_s <= rules.max_lag_s:
        return []
    return [
        Alert(
            labels={"alertname": "TaskgovPipelineLag", "severity": "critical"},
            annotations={
                "summary": "the record trails the cluster",
                "description": (
                    f"the record reaches {reached:%Y-%m-%d %H:%M:%S} UTC, {lag_s:.0f} s behind "
                    f"the clock (threshold {rules.max_lag_s} s): is the watcher or worker down?"
                ),
            },
            starts_at=_utc(reached) + timedelta(seconds=rules.max_lag_s),
        )
    ]


def evaluate(conn: Connection, rules: RuleSettings, now: datetime) -> list[Alert]:
    """Every alert whose condition holds now, in rule order."""
    if not has_table(conn, "usage_minutes"):
        return []
    return [
        *starvation(conn, rules),
        *preemption_thrash(conn, rules),
        *borrow_blocked(conn, rules),
        *pipeline_lag(conn, rules, now),
    ]


def _parse(text: object) -> datetime:
    assert isinstance(text, str)
    return datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=UTC)
