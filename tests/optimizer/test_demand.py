"""Demand profiles: exact step functions, time-weighted percentiles and job waits."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from optimizer.demand import FrameDemandSource, Window, check_jobs, profile_demand
from taskgov.errors import Fault, InputError
from tests.optimizer.builders import HOUR, P4D, history, job

EMPTY_TEAM = {
    "demand_mean": 0.0,
    "demand_p50": 0,
    "demand_p75": 0,
    "demand_p95": 0,
    "demand_max": 0,
    "offered_p50": 0,
    "offered_p75": 0,
    "offered_p95": 0,
    "offered_max": 0,
    "used_acc_h": 0.0,
    "guaranteed_acc_h": 0.0,
    "borrowed_acc_h": 0.0,
    "waited_acc_h": 0.0,
    "starved_h": 0.0,
    "starved_acc_h": 0.0,
    "jobs": 0,
    "job_max": 0,
    "preemptions": 0,
    "wait_p50_s": None,
    "wait_p95_s": None,
    "jobs_guaranteed": 0,
    "wait_p95_guaranteed_s": None,
    "utilization": None,
}

PROFILE_CASES = [
    pytest.param(
        # a: two 4-GPU jobs at 0h, the second starts at 2h; b: 8 GPUs from 1h, never starts.
        [
            job("a", gpus=4, submit_h=0, start_h=0, end_h=2),
            job("a", gpus=4, submit_h=0, start_h=2, end_h=3),
            job("b", gpus=8, submit_h=1, start_h=None, end_h=4),
        ],
        {("a", P4D): 4},
        8,
        None,
        (50, 75, 95),
        {
            "a": {
                "nominal_acc": 4,
                # demand 8 for 2h, 4 for 1h, 0 for 1h of the 4h window.
                "demand_mean": 5.0,
                "demand_p50": 4,
                "demand_p75": 8,
                "demand_p95": 8,
                "demand_max": 8,
                # as if unqueued: 8 for 1h, 4 for 1h (the second job's hour), then 0.
                "offered_p50": 0,
                "offered_p75": 4,
                "offered_p95": 8,
                "offered_max": 8,
                "used_acc_h": 12.0,
                "guaranteed_acc_h": 12.0,
                "borrowed_acc_h": 0.0,
                "waited_acc_h": 8.0,
                # 4 GPUs pending for 2h while 4 of the 8 are idle.
                "starved_h": 2.0,
                "starved_acc_h": 8.0,
                "jobs": 2,
                "job_max": 4,
                "preemptions": 0,
                "wait_p50_s": 0.0,
                "wait_p95_s": 2 * HOUR,
                "jobs_guaranteed": 0,
                "wait_p95_guaranteed_s": None,
                "utilization": 0.75,
            },
            "b": {
                "nominal_acc": 0,
                "demand_mean": 6.0,
                "demand_p50": 8,
                "demand_p75": 8,
                "demand_p95": 8,
                "demand_max": 8,
                # a job that never ran is offered until the window ends.
                "offered_p50": 8,
                "offered_p75": 8,
                "offered_p95": 8,
                "offered_max": 8,
                "used_acc_h": 0.0,
                "guaranteed_acc_h": 0.0,
                "borrowed_acc_h": 0.0,
                "waited_acc_h": 24.0,
                # 4 GPUs idle from 1h to 3h, 8 from 3h to 4h.
                "starved_h": 3.0,
                "starved_acc_h": 16.0,
                "jobs": 1,
                "job_max": 8,
                "preemptions": 0,
                "wait_p50_s": 3 * HOUR,
                "wait_p95_s": 3 * HOUR,
                "jobs_guaranteed": 0,
                "wait_p95_guaranteed_s": None,
                "utilization": None,
            },
            "idle": {"nominal_acc": 0, **EMPTY_TEAM},
        },
        id="a job waits beside idle GPUs and a team without jobs shows zero demand",
    ),
    pytest.param(
        # demand 8 for 1h, 16 for 1h, then 0 for 8h of a 10h window.
        [
            job("a", gpus=8, submit_h=0, start_h=0, end_h=2),
            job("a", gpus=8, submit_h=1, start_h=1, end_h=2, preemptions=2),
        ],
        {("a", P4D): 8},
        16,
        Window(0, 10 * HOUR),
        (50, 75, 80, 90, 95),
        {
            "a": {
                "nominal_acc": 8,
                "demand_mean": 2.4,
                "demand_p50": 0,
                "demand_p75": 0,
                # exactly 80% of the time at 0: the 80th percentile is still 0.
                "demand_p80": 0,
                "demand_p90": 8,
                "demand_p95": 16,
                "demand_max": 16,
                "offered_p50": 0,
                "offered_p75": 0,
                "offered_p80": 0,
                "offered_p90": 8,
                "offered_p95": 16,
                "offered_max": 16,
                "used_acc_h": 24.0,
                "guaranteed_acc_h": 16.0,
                "borrowed_acc_h": 8.0,
                "waited_acc_h": 0.0,
                "starved_h": 0.0,
                "starved_acc_h": 0.0,
                "jobs": 2,
                "job_max": 8,
                "preemptions": 2,
                "wait_p50_s": 0.0,
                "wait_p95_s": 0.0,
                # the first job fits the 8 nominal GPUs, the second brings demand to 16.
                "jobs_guaranteed": 1,
                "wait_p95_guaranteed_s": 0.0,
                "utilization": 0.3,
            },
            "idle": {
                "nominal_acc": 0,
                **EMPTY_TEAM,
                "demand_p80": 0,
                "demand_p90": 0,
                "offered_p80": 0,
                "offered_p90": 0,
            },
        },
        id="time-weighted percentiles of an uneven day are exact at the boundaries",
    ),
]


@pytest.mark.parametrize(
    ("jobs", "nominal", "capacity", "window", "percentiles", "want_by_team"), PROFILE_CASES
)
def test_profile_demand_is_exact(
    jobs: list[dict[str, Any]],
    nominal: dict[tuple[str, str], int],
    capacity: int,
    window: Window | None,
    percentiles: tuple[float, ...],
    want_by_team: dict[str, dict[str, Any]],
) -> None:
    frame = check_jobs(history(*jobs), "jobs")
    profile = profile_demand(
        frame,
        capacity_acc={P4D: capacity},
        nominal_acc=nominal,
        percentiles=percentiles,
        window=window,
        teams=["idle"],
    )
    got = {row.pop("team"): row for row in profile.by_team.to_dicts()}
    want = {team: {"instance_type": P4D, **row} for team, row in want_by_team.items()}
    assert got == want


def test_profile_demand_splits_by_priority_class() -> None:
    frame = check_jobs(
        history(
            job("a", gpus=8, submit_h=0, start_h=0, end_h=2, priority_class="training"),
            job("a", gpus=8, submit_h=0, start_h=2, end_h=3, priority_class="inference"),
            job("a", gpus=4, submit_h=1, start_h=1, end_h=2),
        ),
        "jobs",
    )
    profile = profile_demand(
        frame, capacity_acc={P4D: 16}, nominal_acc={("a", P4D): 8}, percentiles=(50, 95)
    )
    got = profile.by_class.select(
        "priority_class",
        "demand_p50",
        "demand_max",
        "used_acc_h",
        "waited_acc_h",
        "jobs",
        "wait_p95_s",
    ).to_dicts()
    assert got == [
        {
            "priority_class": None,
            "demand_p50": 0,
            "demand_max": 4,
            "used_acc_h": 4.0,
            "waited_acc_h": 0.0,
            "jobs": 1,
            "wait_p95_s": 0.0,
        },
        {
            "priority_class": "inference",
            "demand_p50": 8,
            "demand_max": 8,
            "used_acc_h": 8.0,
            "waited_acc_h": 16.0,
            "jobs": 1,
            "wait_p95_s": 2 * HOUR,
        },
        {
            "priority_class": "training",
            "demand_p50": 8,
            "demand_max": 8,
            "used_acc_h": 16.0,
            "waited_acc_h": 0.0,
            "jobs": 1,
            "wait_p95_s": 0.0,
        },
    ]


BAD_JOBS = [
    pytest.param(
        history(job("a")).drop("end_s"),
        [
            Fault(
                "jobs",
                "",
                "end_s",
                "column is missing (have: team, instance_type, "
                "accelerators, submit_s, start_s, priority_class, preemptions)",
            )
        ],
        id="a missing column is named with the columns present",
    ),
    pytest.param(
        history(job("a"), job("b", submit_h=2, start_h=1, end_h=3), job("c", gpus=-1)),
        [
            Fault(
                "jobs",
                "row 2",
                "start_s",
                "must be a number of seconds, not before submit_s, got 3600.0",
            ),
            Fault("jobs", "row 3", "accelerators", "must be a whole number of at least 0, got -1"),
        ],
        id="each bad cell is named by row and column",
    ),
    pytest.param(
        history(job("a")).with_columns(pl.lit("many").alias("accelerators")),
        [
            Fault(
                "jobs", "row 1", "accelerators", "must be a whole number of at least 0, got 'many'"
            )
        ],
        id="a cell that is not a number is named",
    ),
]


@pytest.mark.parametrize(("frame", "want_faults"), BAD_JOBS)
def test_check_jobs_names_bad_rows(frame: pl.DataFrame, want_faults: list[Fault]) -> None:
    with pytest.raises(InputError) as raised:
        FrameDemandSource(frame).jobs()
    assert raised.value.faults == want_faults


def test_frame_source_keeps_jobs_since() -> None:
    frame = history(job("a", submit_h=0), job("a", submit_h=5, start_h=5, end_h=6))
    got = FrameDemandSource(frame).jobs(since_s=HOUR)
    assert got["submit_s"].to_list() == [5 * HOUR]
