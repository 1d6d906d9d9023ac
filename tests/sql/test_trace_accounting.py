"""On a replay of the Philly trace, usage_minutes and the utilization report agree with the
twin's own accounting of what every team held and borrowed, to the second."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest

from streams.normalize import normalize_cluster_queue
from streams.sink_duckdb import DuckDBSink
from taskgov.store import load_reports, run_report
from taskgov.twin.engine import Twin
from taskgov.twin.manifests import cluster_queue_manifest
from taskgov.twin.render import EPOCH
from taskgov.twin.trace import load_trace, philly_quotas
from tests.streams.helpers import twin_events
from tests.twin.test_trace import PHILLY_JOBS, PHILLY_NODES

CLUSTER = "philly"
BATCHES = 4
MS_PER_GPU_HOUR = 3_600_000


@pytest.fixture(scope="module")
def replayed() -> tuple[Twin, DuckDBSink, dict[str, str]]:
    """The whole trace on the twin, its events written by the sink in BATCHES flushes."""
    scenario = load_trace(PHILLY_JOBS, philly_quotas(PHILLY_NODES), cohort="philly")
    twin, events = twin_events(scenario, CLUSTER)
    queues = [
        normalize_cluster_queue(cluster_queue_manifest(queue), CLUSTER, EPOCH)
        for queue in scenario.cluster_queues.values()
    ]
    sink = DuckDBSink(":memory:")
    sink.add_all(queues)
    size = -(-len(events) // BATCHES)
    for start in range(0, len(events), size):
        sink.add_all(events[start : start + size])
        sink.flush()
    team_of_queue = {q.name: q.team for q in queues}
    return twin, sink, team_of_queue


def _twin_seconds(twin: Twin, team_of_queue: dict[str, str], until_ms: int) -> dict:
    """Per team: GPU-seconds used and borrowed, from the twin's own accounting."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (queue, (_, resource)), usage in twin.accounting.totals(until_ms).items():
        if resource == "nvidia.com/gpu":
            totals[team_of_queue[queue]][0] += usage.used / 1000
            totals[team_of_queue[queue]][1] += usage.borrowed / 1000
    return {team: (round(used), round(borrowed)) for team, (used, borrowed) in totals.items()}


def test_usage_minutes_equal_the_twins_accounting_to_the_second(
    replayed: tuple[Twin, DuckDBSink, dict[str, str]],
) -> None:
    twin, sink, team_of_queue = replayed
    conn = sink.connection
    watermark = conn.execute(
        "SELECT instant FROM aggregate_state WHERE name = 'watermark'"
    ).fetchone()[0]
    until_ms = (watermark - EPOCH.replace(tzinfo=None)) // timedelta(milliseconds=1)
    rows = conn.execute(
        "SELECT team, round(sum(used_accelerators) * 60)::BIGINT,"
        " round(sum(borrowed_accelerators) * 60)::BIGINT"
        " FROM usage_minutes WHERE instance_type IS NOT NULL GROUP BY team"
    ).fetchall()
    got = {team: (used, borrowed) for team, used, borrowed in rows if used or borrowed}

    want = _twin_seconds(twin, team_of_queue, until_ms)

    assert until_ms == twin.ledger[-1].time_ms
    assert len(want) == 15
    assert sum(borrowed for _, borrowed in want.values()) > 0
    assert got == {team: seconds for team, seconds in want.items() if any(seconds)}


def test_utilization_report_sums_to_the_twins_gpu_hours(
    replayed: tuple[Twin, DuckDBSink, dict[str, str]],
) -> None:
    twin, sink, team_of_queue = replayed
    report = load_reports()["utilization"]
    result = run_report(sink.connection, report, since=None, until=None, team=None)
    per_team: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for row in result.rows:
        values = dict(zip(result.columns, row, strict=True))
        total = per_team[values["team"]]
        total[0] += values["used_gpu_hours"]
        total[1] += values["borrowed_gpu_hours"]
        total[2] += 1

    want = _twin_seconds(twin, team_of_queue, twin.ledger[-1].time_ms)

    # Each day's figure is rounded to 0.001 h (3.6 s), so a team's sum is within half of
    # that per day of the exact total.
    for team, (used_s, borrowed_s) in want.items():
        used_h, borrowed_h, days = per_team[team]
        assert abs(used_h - used_s / 3600) <= 0.0005 * days + 1e-9, team
        assert abs(borrowed_h - borrowed_s / 3600) <= 0.0005 * days + 1e-9, team
