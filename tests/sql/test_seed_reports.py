"""After the seed's scenario, every report shows exactly the borrowing, the reclaim and the
preemptions that happened.

The seed (HyperPod's example): team-a and team-b hold 2 ml.g5.8xlarge GPUs each in one cohort.
t=0 Job 1 (team-a, 3 GPUs) is admitted borrowing 1 of team-b's; t=5m Job 2 (team-b, 2 GPUs)
reclaims it, evicting Job 1 (InCohortReclamation); t=10m Job 3 (team-b, 2 GPUs, inference
priority) evicts Job 2 (InClusterQueue). The record ends with the last event, at 00:10.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from streams.sink_duckdb import DuckDBSink
from taskgov.store import load_reports, run_report
from tests.sql.scenarios import seed_events

DAY = date(2025, 1, 1)
G5 = "ml.g5.8xlarge"
JOB_1 = "pytorchjob-imagenet-gpu-team-a-1-3217d"
JOB_2 = "pytorchjob-hyperpod-cli-mnist-team-b-14c52"
WAITING = (
    "couldn't assign flavors to pod set worker: insufficient unused quota for nvidia.com/gpu in "
    "flavor ml.g5.8xlarge, 1 more needed"
)


@pytest.fixture(scope="module")
def seed_db() -> DuckDBSink:
    sink = DuckDBSink(":memory:")
    sink.add_all(seed_events())
    sink.flush()
    return sink


# Hours are GPU-hours: 0.083 is 1 GPU for 5 minutes.
CASES: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "utilization",
        [
            # team-a: 3 GPUs for 5 minutes on a guarantee of 2, so 1 borrowed; then evicted.
            {
                "day": DAY,
                "team": "team-a",
                "instance_type": G5,
                "guaranteed_gpu_hours": 0.333,
                "used_gpu_hours": 0.25,
                "allocated_gpu_hours": 0.167,
                "borrowed_gpu_hours": 0.083,
                "lent_gpu_hours": 0.0,
                "idle_gpu_hours": 0.167,
                "guarantee_used_pct": 50.0,
            },
            # team-b lent that GPU for the first 5 minutes, then ran Job 2 on its own 2.
            {
                "day": DAY,
                "team": "team-b",
                "instance_type": G5,
                "guaranteed_gpu_hours": 0.333,
                "used_gpu_hours": 0.167,
                "allocated_gpu_hours": 0.167,
                "borrowed_gpu_hours": 0.0,
                "lent_gpu_hours": 0.083,
                "idle_gpu_hours": 0.083,
                "guarantee_used_pct": 50.0,
            },
        ],
    ),
    (
        "preemptions",
        [
            {
                "reason": "InClusterQueue",
                "preemptor_team": "team-b",
                "preemptor_priority_class": "inference-priority",
                "victim_team": "team-b",
                "victim_priority_class": "training-priority",
                "preemptions": 1,
                "victim_gpus": 2,
            },
            {
                "reason": "InCohortReclamation",
                "preemptor_team": "team-b",
                "preemptor_priority_class": "training-priority",
                "victim_team": "team-a",
                "victim_priority_class": "training-priority",
                "preemptions": 1,
                "victim_gpus": 3,
            },
        ],
    ),
    (
        "wait_times",
        [
            {
                "team": "team-a",
                "priority_class": "training-priority",
                "wait_kind": "initial",
                "waits": 1,
                "still_waiting": 0,
                "abandoned": 0,
                "p50_s": 0.0,
                "p95_s": 0.0,
                "p99_s": 0.0,
                "max_s": 0.0,
            },
            {
                "team": "team-a",
                "priority_class": "training-priority",
                "wait_kind": "readmission",
                "waits": 0,
                "still_waiting": 1,
                "abandoned": 0,
                "p50_s": None,
                "p95_s": None,
                "p99_s": None,
                "max_s": None,
            },
            {
                "team": "team-b",
                "priority_class": "inference-priority",
                "wait_kind": "initial",
                "waits": 1,
                "still_waiting": 0,
                "abandoned": 0,
                "p50_s": 0.0,
                "p95_s": 0.0,
                "p99_s": 0.0,
                "max_s": 0.0,
            },
            {
                "team": "team-b",
                "priority_class": "training-priority",
                "wait_kind": "initial",
                "waits": 1,
                "still_waiting": 0,
                "abandoned": 0,
                "p50_s": 0.0,
                "p95_s": 0.0,
                "p99_s": 0.0,
                "max_s": 0.0,
            },
            {
                "team": "team-b",
                "priority_class": "training-priority",
                "wait_kind": "readmission",
                "waits": 0,
                "still_waiting": 1,
                "abandoned": 0,
                "p50_s": None,
                "p95_s": None,
                "p99_s": None,
                "max_s": None,
            },
        ],
    ),
    (
        "starvation",
        [
            # Job 1 waits 3 GPUs from 00:05 while team-a leaves its whole guarantee (2) unused.
            {
                "team": "team-a",
                "instance_type": G5,
                "started_at": datetime(2025, 1, 1, 0, 5),
                "ended_at": datetime(2025, 1, 1, 0, 10),
                "starved_minutes": 5,
                "starved_gpu_hours": 0.167,
                "peak_pending_gpus": 3.0,
                "avg_unused_guarantee_gpus": 2.0,
            },
        ],
    ),
    (
        "idle_capacity",
        [
            {
                "day": DAY,
                "cohort": "shared-pool",
                "instance_type": G5,
                "idle_gpu_hours": 0.25,
                "idle_minutes": 10,
                "waiting_team": "team-a",
                "waiting_minutes": 5,
                "waiting_gpu_hours": 0.25,
                "coverable_gpu_hours": 0.167,
            },
        ],
    ),
    (
        "pending_now",
        [
            {
                "team": "team-a",
                "namespace": "hyperpod-ns-team-a",
                "name": JOB_1,
                "priority_class": "training-priority",
                "priority": 70,
                "instance_type": G5,
                "gpus": 3,
                "pending_since": datetime(2025, 1, 1, 0, 5),
                "pending_s": 300,
                "cause": "waiting_for_quota",
                "message": WAITING,
            },
            {
                "team": "team-b",
                "namespace": "hyperpod-ns-team-b",
                "name": JOB_2,
                "priority_class": "training-priority",
                "priority": 70,
                "instance_type": G5,
                "gpus": 2,
                "pending_since": datetime(2025, 1, 1, 0, 10),
                "pending_s": 0,
                "cause": "waiting_for_quota",
                "message": WAITING,
            },
        ],
    ),
    (
        "pending_causes",
        [
            {
                "day": DAY,
                "team": "team-a",
                "cause": "waiting_for_quota",
                "workloads": 1,
                "pending_hours": 0.083,
                "pending_gpu_hours": 0.25,
            },
        ],
    ),
]


def test_every_report_is_covered() -> None:
    assert sorted(name for name, _ in CASES) == sorted(load_reports())


@pytest.mark.parametrize(("report", "want"), CASES, ids=[name for name, _ in CASES])
def test_seed_report(seed_db: DuckDBSink, report: str, want: list[dict[str, Any]]) -> None:
    result = run_report(
        seed_db.connection, load_reports()[report], since=None, until=None, team=None
    )

    got = [dict(zip(result.columns, row, strict=True)) for row in result.rows]

    assert got == want
