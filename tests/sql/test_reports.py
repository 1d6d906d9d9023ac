"""Every report against its YAML fixtures: events in through the sink, exact rows out."""

from __future__ import annotations

import random
import re

import pytest

from streams.sink_duckdb import DuckDBSink
from taskgov.store import REPORTS_DIR, load_reports, run_report
from tests.sql.fixtures import FIXTURES, Case, load_cases, normalize

CASES = load_cases()
REPORTS = load_reports()


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c.report}: {c.id}") for c in CASES])
def test_report_returns_fixture_rows(sink: DuckDBSink, case: Case) -> None:
    sink.add_all(case.events)
    sink.flush()

    result = run_report(sink.connection, REPORTS[case.report], **case.params)

    got = [normalize(dict(zip(result.columns, row, strict=True))) for row in result.rows]
    assert got == case.want


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c.report}: {c.id}") for c in CASES])
def test_report_same_rows_when_events_arrive_one_by_one_shuffled_and_twice(case: Case) -> None:
    events = list(case.events)
    random.Random(case.id).shuffle(events)

    with DuckDBSink(":memory:") as sink:
        for event in [*events, *events[: len(events) // 2]]:
            sink.add(event)
            sink.flush()
        result = run_report(sink.connection, REPORTS[case.report], **case.params)

    got = [normalize(dict(zip(result.columns, row, strict=True))) for row in result.rows]
    assert got == case.want


def test_reports_each_have_fixtures() -> None:
    want_fixtures = sorted(REPORTS)

    got_fixtures = sorted(path.stem for path in FIXTURES.glob("*.yaml"))

    assert got_fixtures == want_fixtures
    assert {c.report for c in CASES} == set(want_fixtures)


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_report_header_documents_its_parameters(name: str) -> None:
    report = REPORTS[name]
    header = report.sql.split("\nSELECT", 1)[0].split("\nWITH", 1)[0]

    documented = re.findall(r"^--\s+\$([a-z_]+)\s", header, flags=re.MULTILINE)

    assert report.description, "the first header line says what the report answers"
    assert documented == ["since", "until", "team"]
    assert set(report.parameters) == {"since", "until", "team"}
    assert (REPORTS_DIR / f"{name}.sql").read_text().startswith("-- ")


def test_reports_answer_nothing_on_an_empty_database(sink: DuckDBSink) -> None:
    for report in REPORTS.values():
        result = run_report(sink.connection, report)

        assert result.rows == [], report.name
