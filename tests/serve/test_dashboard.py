"""The dashboard in a real browser: Playwright driving Debian's Chromium, headless.

Each page's charts render (SVG marks drawn), each chart's data is exactly the rows of the
matching SQL report for the same selection, links keep the selection, and the console stays
free of errors.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from playwright.sync_api import sync_playwright

from taskgov.serve.records import QUERIES, REPORTS, run
from taskgov.serve.server import Running
from taskgov.serve.why import explain

CHROMIUM = "/usr/bin/chromium"
# Playwright cannot download its own browsers here; these keep Debian's Chromium quiet offline.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which("chromium"):
        pytest.fail("chromium is not installed (scripts/test.sh installs it with apt-get)")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def _open(browser: Any, url: str) -> tuple[Any, list[str]]:
    """The page at ``url`` once its script is done, and every console error meanwhile."""
    page = browser.new_page(viewport={"width": 1100, "height": 700})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.taskgov && window.taskgov.ready", timeout=20_000)
    return page, errors


def _chart_rows(page: Any, name: str) -> list[dict[str, Any]]:
    """What the chart's Vega view holds as its data (not what the page meant to give it)."""
    return list(
        page.evaluate(
            "name => window.taskgov.charts[name].view.data('rows')"
            ".map(t => Object.fromEntries(Object.entries(t)))",
            name,
        )
    )


def _marks(page: Any, name: str) -> int:
    selector = f'section[data-chart="{name}"] svg .role-mark > *'
    return int(page.locator(selector).count())


def _sql(db: Path, query: str, **given: object) -> list[dict[str, Any]]:
    source = {**REPORTS, **QUERIES}[query]
    with duckdb.connect(str(db), read_only=True) as conn:
        return run(conn, source, given).records


CASES = [
    pytest.param(
        "page/cluster",
        {"usage:ml.g5.8xlarge": ("usage_timeline", {})},
        id="cluster page: each team's guarantee and how it was spent, per instance type",
    ),
    pytest.param(
        "page/cluster?cluster=seed&team=team-b",
        {"usage:ml.g5.8xlarge": ("usage_timeline", {"cluster": "seed", "team": "team-b"})},
        id="cluster page narrowed to one cluster and team",
    ),
    pytest.param(
        "page/team?team=team-a",
        {
            name: (name, {"team": "team-a"})
            for name in ("wait_times", "preemptions", "pending_causes", "starvation")
        },
        id="team page: waits, preemptions by whom, pending causes, starvation",
    ),
    pytest.param(
        "page/recommendations",
        # The seed's three jobs are too little history for the out-of-sample replay, so its
        # run has no what-if effects: that chart must show exactly the (empty) SQL rows.
        {"quotas": ("recommendation_quotas", {}), "effects": ("recommendation_effects", {})},
        id="recommendations page: current vs proposed and what-if deltas",
    ),
]


@pytest.mark.parametrize(("path", "want_charts"), CASES)
def test_each_chart_renders_the_matching_report(
    browser: Any,
    seed_server: Running,
    seed_db: Path,
    path: str,
    want_charts: dict[str, tuple[str, dict[str, object]]],
) -> None:
    page, errors = _open(browser, seed_server.url + path)
    try:
        assert page.evaluate("Object.keys(window.taskgov.charts)") == list(want_charts)
        for name, (query, given) in want_charts.items():
            want_rows = _sql(seed_db, query, **given)
            if not want_rows and name == "effects":
                # No effect measured: the page draws no chart for it.
                chart = page.evaluate(f"window.taskgov.charts[{name!r}]")
                assert chart == {"rows": [], "view": None}
                continue
            assert want_rows, f"{query} has rows for the seed"
            assert _chart_rows(page, name) == want_rows, name
            assert _marks(page, name) > 0, f"{name} drew nothing"
        assert page.evaluate("window.taskgov.errors") == []
        assert errors == []
    finally:
        page.close()


def test_timeline_shows_starvation_and_the_recommendation_run(
    browser: Any, seed_server: Running
) -> None:
    page, errors = _open(browser, seed_server.url + "page/timeline")
    try:
        rows = _chart_rows(page, "timeline")
        assert [(r["kind"], r["label"]) for r in rows] == [
            ("starvation", "team-a starved of ml.g5.8xlarge"),
            ("recommendation", "run 1: optimal, 2 team(s) changed"),
        ]
        assert _marks(page, "timeline") > 0
        assert errors == []
    finally:
        page.close()


def test_links_and_pickers_keep_the_selection(browser: Any, seed_server: Running) -> None:
    selection = "cluster=seed&team=team-a&since=2025-01-01T00%3A00"
    page, errors = _open(browser, f"{seed_server.url}page/team?{selection}")
    try:
        links = page.locator("nav a").evaluate_all("links => links.map(a => a.href)")
        assert links == [
            f"{seed_server.url}page/{name}?{selection}"
            for name in ("cluster", "team", "recommendations", "timeline", "why")
        ]
        assert page.locator("#cluster").input_value() == "seed"
        assert page.locator("#team").input_value() == "team-a"
        page.locator("#team").select_option("team-b")
        page.locator("#pickers button").click()
        page.wait_for_url("**team=team-b**")
        page.wait_for_function("window.taskgov && window.taskgov.ready")
        assert "team team-b" in page.locator("section.chart h2").first.inner_text()
        assert errors == []
    finally:
        page.close()


def test_why_page_shows_the_same_answer_as_the_library(
    browser: Any, seed_server: Running, seed_db: Path
) -> None:
    workload = "hyperpod-ns-team-a/pytorchjob-imagenet-gpu-team-a-1-3217d"
    url = f"{seed_server.url}page/why?workload={workload}&until=2025-01-01T00%3A07"
    page, errors = _open(browser, url)
    try:
        shown = page.locator("table.why tr").evaluate_all(
            "rows => rows.map(r => [r.cells[0].textContent, r.cells[1].textContent])"
        )
        with duckdb.connect(str(seed_db), read_only=True) as conn:
            answer = explain(conn, workload, at=datetime(2025, 1, 1, 0, 7))
        assert [tuple(row) for row in shown] == [(x.topic, x.text) for x in answer.lines]
        assert ("estimated start", "2025-01-01 01:05:01 UTC") in [tuple(r) for r in shown]
        assert errors == []
    finally:
        page.close()
