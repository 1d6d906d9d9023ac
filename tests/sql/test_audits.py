"""sql/audits: zero rows on good data, the offending rows on bad data."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.sink_duckdb import DuckDBSink
from taskgov.store import SQL_DIR
from tests.sql.fixtures import load_cases
from tests.sql.scenarios import random_events

AUDITS = {path.stem: path.read_text() for path in sorted((SQL_DIR / "audits").glob("*.sql"))}


def audit(sink: DuckDBSink, name: str) -> list[tuple[object, ...]]:
    """The rows audit ``name`` returns."""
    return sink.connection.execute(AUDITS[name]).fetchall()


def load_balanced_pair(sink: DuckDBSink) -> None:
    """team-a (4 GPUs) lends 2 to team-b for an hour, the utilization fixture's first case."""
    case = next(c for c in load_cases() if c.report == "utilization")
    sink.add_all(case.events)
    sink.flush()


def audit_of_corrupted_pair(
    sink: DuckDBSink, corruption: str, name: str
) -> list[tuple[object, ...]]:
    """The rows audit ``name`` returns once ``corruption`` (SQL) has damaged the balanced pair."""
    load_balanced_pair(sink)
    sink.connection.execute(corruption)
    return audit(sink, name)


def test_audits_are_named_assert() -> None:
    assert AUDITS
    assert all(name.startswith("assert_") for name in AUDITS)
    assert all(Path(SQL_DIR / "audits" / f"{n}.sql").read_text().startswith("-- ") for n in AUDITS)


@pytest.mark.parametrize("name", sorted(AUDITS))
def test_audit_passes_on_every_fixture_and_a_random_scenario(sink: DuckDBSink, name: str) -> None:
    for case in load_cases():
        with DuckDBSink(":memory:") as fresh:
            fresh.add_all(case.events)
            fresh.flush()

            assert audit(fresh, name) == [], f"{case.report}: {case.id}"
    sink.add_all(random_events(7))
    sink.flush()

    assert audit(sink, name) == []


@pytest.mark.parametrize(
    ("name", "corruption", "want"),
    [
        pytest.param(
            "assert_usage_minutes_balanced",
            "UPDATE usage_minutes SET borrowed_accelerators = borrowed_accelerators + 1"
            " WHERE team = 'team-a' AND minute = TIMESTAMP '2024-05-01 00:10'",
            [
                (
                    "borrowed - lent - idle is not used - nominal",
                    "team-a",
                    "2024-05-01 00:10:00",
                    "accelerators",
                )
            ],
            id="borrowed that does not balance",
        ),
        pytest.param(
            "assert_usage_minutes_balanced",
            "UPDATE usage_minutes SET idle_memory_bytes = idle_memory_bytes + 1"
            " WHERE team = 'team-a' AND minute = TIMESTAMP '2024-05-01 00:20'",
            [
                (
                    "borrowed - lent - idle is not used - nominal",
                    "team-a",
                    "2024-05-01 00:20:00",
                    "memory_bytes",
                )
            ],
            id="idle that does not balance",
        ),
        pytest.param(
            "assert_usage_minutes_balanced",
            # team-b uses 6 of 4 GPUs: borrowed 7 with idle 5 balances but exceeds what it used.
            "UPDATE usage_minutes SET borrowed_accelerators = 7, idle_accelerators = 5"
            " WHERE team = 'team-b' AND minute = TIMESTAMP '2024-05-01 00:30'",
            [("borrowed is above used", "team-b", "2024-05-01 00:30:00", "accelerators")],
            id="borrowed above used",
        ),
        pytest.param(
            "assert_usage_minutes_balanced",
            "UPDATE usage_minutes SET lent_accelerators = -1, idle_accelerators = 3"
            " WHERE team = 'team-a' AND minute = TIMESTAMP '2024-05-01 00:30'",
            [("negative amount", "team-a", "2024-05-01 00:30:00", "accelerators")],
            id="negative lent",
        ),
    ],
)
def test_usage_minutes_balanced_returns_the_bad_rows(
    sink: DuckDBSink, name: str, corruption: str, want: list[tuple[object, ...]]
) -> None:
    got = [
        (row[0], row[3], str(row[5]), row[6])
        for row in audit_of_corrupted_pair(sink, corruption, name)
    ]

    assert got == want


def test_lent_matches_borrowed_returns_the_cohort_minutes_that_disagree(sink: DuckDBSink) -> None:
    corruption = (
        "UPDATE usage_minutes SET lent_accelerators = 0, idle_accelerators = 2"
        " WHERE team = 'team-a' AND minute = TIMESTAMP '2024-05-01 00:30'"
    )

    got = audit_of_corrupted_pair(sink, corruption, "assert_lent_matches_borrowed")

    assert [(r[1], r[2], r[3], str(r[4]), r[5], r[6], r[7]) for r in got] == [
        ("shared-pool", "ml.g5.8xlarge", "accelerators", "2024-05-01 00:30:00", 0.0, 2.0, 2.0)
    ]


@pytest.mark.parametrize(
    ("corruption", "want_kinds"),
    [
        pytest.param(
            "DELETE FROM workload_intervals WHERE uid = 'uid-a1'",
            # usage_minutes is checked against workload_intervals, so it is flagged too.
            {
                ("workload_intervals", "missing", "uid-a1"),
                ("usage_minutes", "day total differs from the log", "team-a"),
            },
            id="a materialized interval lost",
        ),
        pytest.param(
            "UPDATE workload_waits SET wait_s = 1 WHERE uid = 'uid-b1'",
            {("workload_waits", "extra", "uid-b1"), ("workload_waits", "missing", "uid-b1")},
            id="a materialized wait changed",
        ),
        pytest.param(
            "DELETE FROM usage_minutes WHERE team = 'team-b'"
            " AND minute = TIMESTAMP '2024-05-01 01:10'",
            {("usage_minutes", "day total differs from the log", "team-b")},
            id="a minute lost",
        ),
        pytest.param(
            "UPDATE usage_minutes SET pending_cpu_millis = 1 WHERE team = 'team-a'"
            " AND minute = TIMESTAMP '2024-05-01 00:10'",
            {("usage_minutes", "day total differs from the log", "team-a")},
            id="a minute changed",
        ),
        pytest.param(
            "UPDATE aggregate_state SET instant = TIMESTAMP '2024-05-01 01:00'",
            {
                ("aggregate_state", "watermark behind the log", None),
                ("usage_minutes", "day total differs from the log", "team-a"),
                ("usage_minutes", "day total differs from the log", "team-b"),
            },
            id="the watermark left behind",
        ),
    ],
)
def test_aggregates_match_log_returns_what_drifted(
    sink: DuckDBSink, corruption: str, want_kinds: set[tuple[str, str, str | None]]
) -> None:
    got = audit_of_corrupted_pair(sink, corruption, "assert_aggregates_match_log")

    assert {(r[0], r[1], r[2]) for r in got} == want_kinds


@pytest.mark.parametrize(
    ("corruption", "want_problem"),
    [
        pytest.param(
            "INSERT INTO workload_events SELECT * REPLACE ('x' || event_id AS event_id)"
            " FROM workload_events WHERE uid = 'uid-a1' AND event_type = 'admitted'",
            "duplicate transition",
            id="one transition under two ids",
        ),
        pytest.param(
            "UPDATE workload_events SET ordinal = 2"
            " WHERE uid = 'uid-a1' AND event_type = 'admitted'",
            "missing transition",
            id="a transition lost in between",
        ),
        pytest.param(
            "UPDATE workload_events SET accelerators = -1 WHERE uid = 'uid-a1'"
            " AND event_type = 'finished'",
            "negative amount",
            id="negative accelerators",
        ),
        pytest.param(
            "UPDATE workload_events SET team = 'team-z' WHERE uid = 'uid-a1'"
            " AND event_type = 'finished'",
            "identity changed",
            id="a workload changing team",
        ),
    ],
)
def test_workload_events_consistent_returns_the_bad_events(
    sink: DuckDBSink, corruption: str, want_problem: str
) -> None:
    got = audit_of_corrupted_pair(sink, corruption, "assert_workload_events_consistent")

    assert [(r[0], r[2]) for r in got] == [(want_problem, "uid-a1")]


@pytest.mark.parametrize(
    ("corruption", "want_problem"),
    [
        pytest.param(
            "UPDATE cluster_queue_quotas SET lending_limit = nominal + 1",
            "lending above nominal",
            id="lending limit above nominal",
        ),
        pytest.param(
            "UPDATE cluster_queue_quotas SET borrowing_limit = -1",
            "negative quota",
            id="negative borrowing limit",
        ),
        pytest.param(
            "DELETE FROM cluster_queue_events",
            "orphan line",
            id="lines without their event",
        ),
        pytest.param(
            "UPDATE cluster_queue_events SET event_type = 'deleted'",
            "lines on a deletion",
            id="a deletion with quota",
        ),
    ],
)
def test_quota_lines_valid_returns_the_bad_lines(
    sink: DuckDBSink, corruption: str, want_problem: str
) -> None:
    got = audit_of_corrupted_pair(sink, corruption, "assert_quota_lines_valid")

    assert {r[0] for r in got} == {want_problem}
    assert len(got) == 2
