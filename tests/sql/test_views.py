"""The macros and views of sql/views, case by case."""

from __future__ import annotations

import pytest

from streams.sink_duckdb import DuckDBSink
from tests.sql.builders import (
    ClusterQueueBuilder,
    WorkloadBuilder,
    make_cluster_queue,
    make_workload,
)


def rows_after(
    sink: DuckDBSink, sql: str, *lives: WorkloadBuilder | ClusterQueueBuilder
) -> list[tuple[object, ...]]:
    """The rows ``sql`` returns once the sink has stored every event of ``lives``."""
    sink.add_all([event for life in lives for event in life.events()])
    sink.flush()
    return sink.connection.execute(sql).fetchall()


@pytest.mark.parametrize(
    ("message", "want_cause"),
    [
        pytest.param(
            "couldn't assign flavors to pod set main: insufficient unused quota for "
            "nvidia.com/gpu in flavor ml.g5.8xlarge, 2 more needed",
            "waiting_for_quota",
            id="quota is in use by others",
        ),
        pytest.param(
            "couldn't assign flavors to pod set main: insufficient quota for nvidia.com/gpu in "
            "flavor ml.g5.8xlarge, previously considered podsets requests (0) + current podset "
            "request (16) > maximum capacity (12)",
            "exceeds_max_quota",
            id="the request exceeds what the ClusterQueue can ever get",
        ),
        pytest.param(
            "couldn't assign flavors to pod set main: borrowing limit for nvidia.com/gpu in "
            "flavor ml.g5.8xlarge exceeded",
            "exceeds_max_quota",
            id="the borrowing limit is in the way",
        ),
        pytest.param(
            "couldn't assign flavors to pod set main: flavor ml.g5.8xlarge doesn't match node "
            "affinity",
            "no_matching_flavor",
            id="node affinity rules the flavor out",
        ),
        pytest.param(
            "couldn't assign flavors to pod set main: untolerated taint {gpu NoSchedule} in "
            "flavor ml.g5.8xlarge",
            "no_matching_flavor",
            id="a taint is not tolerated",
        ),
        pytest.param(
            "couldn't assign flavors to pod set main: resource vpc.amazonaws.com/efa "
            "unavailable in ClusterQueue",
            "no_matching_flavor",
            id="the resource is not in the ClusterQueue",
        ),
        pytest.param(
            "couldn't assign flavors to pod set main: insufficient unused quota for "
            "nvidia.com/gpu in flavor ml.g5.8xlarge, 2 more needed. Pending the preemption of "
            "2 workload(s)",
            "waiting_for_preemption",
            id="victims are chosen and the workload waits for them",
        ),
        pytest.param(
            "ClusterQueue hyperpod-ns-team-a-clusterqueue is inactive",
            "inactive_queue",
            id="the ClusterQueue is inactive",
        ),
        pytest.param(
            "LocalQueue hyperpod-ns-team-a-localqueue doesn't exist",
            "inactive_queue",
            id="the LocalQueue does not exist",
        ),
        pytest.param(
            "couldn't assign flavors to pod set main: flavor ml.p5.48xlarge doesn't match node "
            "affinity, insufficient unused quota for nvidia.com/gpu in flavor ml.g5.8xlarge, "
            "1 more needed",
            "waiting_for_quota",
            id="one flavor fits once quota frees, so it waits for quota",
        ),
        pytest.param(
            "Workload no longer fits after processing another workload",
            "other",
            id="anything else is other",
        ),
        pytest.param(None, "other", id="no message yet is other"),
    ],
)
def test_pending_cause_classifies_kueue_messages(
    sink: DuckDBSink, message: str | None, want_cause: str
) -> None:
    got = sink.connection.execute("SELECT pending_cause($m::VARCHAR)", {"m": message}).fetchall()

    assert got == [(want_cause,)]


def test_usage_minutes_counts_cpu_and_memory_in_the_accelerators_flavor(sink: DuckDBSink) -> None:
    queue = (
        make_cluster_queue("team-a-cq")
        .nominal("ml.g5.8xlarge", "gpu", 2)
        .nominal("ml.g5.8xlarge", "cpu", 64_000)
        .nominal("ml.g5.8xlarge", "memory", 2**38)
        .nominal("ml.g5.8xlarge", "pods", 10)
        .changed("00:00")
    )
    work = (
        make_workload("w")
        .gpus(1)
        .requests(cpu=96_000, memory=2**36)
        .flavor("ml.g5.8xlarge")
        .ran("00:00", "00:01")
    )
    got = rows_after(
        sink, "SELECT COLUMNS('^(nominal|used|borrowed|idle)_') FROM usage_minutes", queue, work
    )

    assert got == [
        (2.0, 1.0, 0.0, 1.0)
        + (64_000.0, 96_000.0, 32_000.0, 0.0)
        + (float(2**38), float(2**36), 0.0, float(2**38 - 2**36))
    ]


def test_usage_minutes_team_without_cluster_queue_has_no_cohort(sink: DuckDBSink) -> None:
    work = make_workload("w").team("team-x").gpus(3).flavor("ml.g5.8xlarge").ran("00:00", "00:02")
    got = rows_after(
        sink,
        "SELECT cohort, team, minute::VARCHAR, used_accelerators, borrowed_accelerators,"
        " lent_accelerators FROM usage_minutes ORDER BY minute",
        work,
    )

    assert got == [
        (None, "team-x", "2024-05-01 00:00:00", 3.0, 3.0, 0.0),
        (None, "team-x", "2024-05-01 00:01:00", 3.0, 3.0, 0.0),
    ]


def test_usage_minutes_cohort_changes_at_the_next_minute(sink: DuckDBSink) -> None:
    queue = make_cluster_queue("team-a-cq").nominal("ml.g5.8xlarge", "gpu", 1).changed("00:00")
    queue.cohort("other-pool").changed("00:01:30")
    work = make_workload("w").gpus(1).flavor("ml.g5.8xlarge").ran("00:00", "00:03")
    got = rows_after(
        sink, "SELECT minute::VARCHAR, cohort FROM usage_minutes ORDER BY minute", queue, work
    )

    assert got == [
        ("2024-05-01 00:00:00", "shared-pool"),
        ("2024-05-01 00:01:00", "shared-pool"),
        ("2024-05-01 00:02:00", "other-pool"),
    ]


def test_usage_minutes_deleted_cluster_queue_ends_its_quota(sink: DuckDBSink) -> None:
    queue = make_cluster_queue("team-a-cq").nominal("ml.g5.8xlarge", "gpu", 4).changed("00:00")
    queue.deleted("00:02")
    clock = make_workload("w").event("00:00", "submitted").event("00:05", "deleted")
    got = rows_after(sink, "SELECT sum(nominal_accelerators) FROM usage_minutes", queue, clock)

    assert got == [(8.0,)]
