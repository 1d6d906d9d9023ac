"""The report summaries the sink keeps (schema 009): exact under late and redelivered batches.

``preemptions`` reads ``preemption_records`` and ``pending_causes`` reads whole days from
``pending_cause_days``; both are refreshed per batch for the Workloads it touches and the days
the watermark completes. Whatever the batching, they must equal a rebuild, the reports must
give the hand-computed rows, and the audit must stay empty.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb
import pytest

from streams.events import ClusterQueueEvent, WorkloadEvent
from streams.sink_duckdb import DuckDBSink
from taskgov.store import SQL_DIR, load_reports, rebuild_aggregates, run_report
from tests.sql.builders import DAY, at, make_workload
from tests.sql.scenarios import random_events
from tests.sql.test_incremental import batches, store_batches

SUMMARIES = (
    "workload_identities",
    "preemption_records",
    "pending_cause_parts",
    "pending_cause_days",
)
QUOTA = "couldn't assign flavors: insufficient unused quota for nvidia.com/gpu in flavor p5"
REPORTS = load_reports()
AUDIT = (SQL_DIR / "audits" / "assert_report_summaries_match_log.sql").read_text()

Event = WorkloadEvent | ClusterQueueEvent


def summaries(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[object, ...]]]:
    return {table: sorted(conn.table(table).fetchall(), key=repr) for table in SUMMARIES}


def report(conn: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[dict[str, Any]]:
    result = run_report(conn, REPORTS[name], **params)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def victim() -> list[WorkloadEvent]:
    """team-a, 2 GPUs: pending 22:00 to 02:00 the next day, preempted by team-b's job at
    d1 10:00, pending again until d2 01:00 (waiting for quota both times)."""
    return (
        make_workload("victim")
        .gpus(2)
        .flavor("p5")
        .event("22:00", "submitted")
        .event("22:00", "pending", message=QUOTA)
        .event("d1 02:00", "quota_reserved")
        .event("d1 02:00", "admitted")
        .event("d1 10:00", "preempted", reason="InCohortReclamation", preemptor_uid="uid-boss")
        .event("d1 10:00", "pending", message=QUOTA)
        .event("d2 01:00", "quota_reserved")
        .event("d2 01:00", "admitted")
        .event("d3 00:00", "finished")
        .events()
    )


def preemptor() -> list[WorkloadEvent]:
    return (
        make_workload("boss")
        .team("team-b")
        .gpus(8)
        .flavor("p5")
        .priority_class("inference", 90)
        .event("d1 09:59", "submitted")
        .event("d1 10:00", "quota_reserved")
        .event("d1 10:00", "admitted")
        .event("d3 00:00", "finished")
        .events()
    )


WANT_PENDING = [  # day, team, cause, workloads, pending hours, GPU-hours
    (date(2024, 5, 1), "team-a", "waiting_for_quota", 1, 2.0, 4.0),
    (date(2024, 5, 2), "team-a", "waiting_for_quota", 1, 16.0, 32.0),
    (date(2024, 5, 2), "team-b", "other", 1, 0.017, 0.133),  # the minute before admission
    (date(2024, 5, 3), "team-a", "waiting_for_quota", 1, 1.0, 2.0),
]
WANT_PREEMPTION = {
    "reason": "InCohortReclamation",
    "preemptor_team": "team-b",
    "preemptor_priority_class": "inference",
    "victim_team": "team-a",
    "victim_priority_class": None,
    "preemptions": 1,
    "victim_gpus": 2,
}


def _pending_rows(conn: duckdb.DuckDBPyConnection, **params: Any) -> list[tuple[object, ...]]:
    return [tuple(r.values()) for r in report(conn, "pending_causes", **params)]


@pytest.mark.parametrize(
    "order",
    [
        pytest.param("together", id="victim and preemptor in one batch"),
        pytest.param("preemptor late", id="the preemptor's events arrive a batch later"),
        pytest.param("redelivered", id="every batch is delivered twice"),
        pytest.param("event by event", id="one event per batch, newest first"),
    ],
)
def test_reports_over_summaries_give_the_hand_computed_rows(order: str) -> None:
    victims, bosses = victim(), preemptor()
    plan: list[list[WorkloadEvent]] = {
        "together": [victims + bosses],
        "preemptor late": [victims, bosses],
        "redelivered": [victims, victims, bosses, bosses],
        "event by event": [[e] for e in sorted(victims + bosses, key=lambda e: e.occurred_at)][
            ::-1
        ],
    }[order]
    with DuckDBSink(":memory:") as sink:
        store_batches(sink, plan)
        conn = sink.connection
        got_pending = _pending_rows(conn)
        got_last_day = _pending_rows(conn, since=at("d2 00:30"))
        got_preemptions = report(conn, "preemptions")
        got_audit = conn.execute(AUDIT).fetchall()
    assert got_pending == WANT_PENDING
    assert got_last_day == [(date(2024, 5, 3), "team-a", "waiting_for_quota", 1, 0.5, 1.0)]
    assert got_preemptions == [WANT_PREEMPTION]
    assert got_audit == []


def test_preemptor_without_events_is_unknown_until_its_events_arrive() -> None:
    with DuckDBSink(":memory:") as sink:
        sink.add_all(victim())
        sink.flush()
        before = report(sink.connection, "preemptions")
        sink.add_all(preemptor())
        sink.flush()
        after = report(sink.connection, "preemptions")
        audit = sink.connection.execute(AUDIT).fetchall()
    assert [(r["preemptor_team"], r["preemptor_priority_class"]) for r in before] == [(None, None)]
    assert after == [WANT_PREEMPTION]
    assert audit == []


def test_a_day_completed_by_the_watermark_alone_moves_into_the_summary() -> None:
    stuck = make_workload("stuck").gpus(1).event("23:00", "pending", message=QUOTA).events()
    with DuckDBSink(":memory:") as sink:
        sink.add_all(stuck)
        sink.flush()
        sink.flush(watermark=DAY + timedelta(days=2, hours=6))
        conn = sink.connection
        days = conn.execute("SELECT day, workloads, pending_ms FROM pending_cause_days").fetchall()
        rows = _pending_rows(conn)
        audit = conn.execute(AUDIT).fetchall()
    assert sorted(days) == [(date(2024, 5, 1), 1, 3_600_000), (date(2024, 5, 2), 1, 86_400_000)]
    assert [r[4] for r in rows] == [1.0, 24.0, 6.0]
    assert audit == []


def _stretched(events: list[Event], factor: int) -> list[Event]:
    """The same events with every instant's distance from DAY times ``factor`` (3 h become
    days, so stretches cross midnights)."""

    def moved(t: Any) -> Any:
        return DAY + (t - DAY) * factor

    out: list[Event] = []
    for e in events:
        update = {"occurred_at": moved(e.occurred_at), "observed_at": moved(e.observed_at)}
        if isinstance(e, WorkloadEvent):
            update["created_at"] = moved(e.created_at)
        out.append(e.model_copy(update=update))
    return out


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed {s}") for s in (1, 2)])
def test_summaries_equal_a_rebuild_after_late_and_redelivered_batches(seed: int) -> None:
    events = _stretched(random_events(seed), 20)
    with DuckDBSink(":memory:") as sink:
        store_batches(sink, batches(events, seed))
        conn = sink.connection
        got = summaries(conn)
        got_audit = conn.execute(AUDIT).fetchall()
        got_pending = report(conn, "pending_causes")
        rebuild_aggregates(conn)
        want = summaries(conn)
    assert got_audit == []
    assert got == want
    assert len({r["day"] for r in got_pending}) >= 3
