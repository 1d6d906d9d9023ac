"""Replays on the twin: the history it records under a policy."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from optimizer.replay import nominal_accelerators, replay, workloads_from_history
from taskgov.policy.model import Policy
from tests.optimizer.builders import HOUR, P4D, history, job, make_cluster, make_policy, workloads

REPLAY_CASES = [
    pytest.param(
        make_policy().team("a", count=1, borrow_limit=0).team("b", count=2).build(),
        [("a", 8, 0, 2), ("a", 8, 0, 1), ("b", 8, 1, 1), ("nobody", 8, 0, 1)],
        [
            # a runs one job at a time on its 8 GPUs: it may not borrow b's idle ones.
            {
                "team": "a",
                "start_s": 0.0,
                "end_s": 2 * HOUR,
                "preemptions": 0,
                "preempted_run_s": 0.0,
            },
            {
                "team": "a",
                "start_s": 2 * HOUR,
                "end_s": 3 * HOUR,
                "preemptions": 0,
                "preempted_run_s": 0.0,
            },
            {
                "team": "b",
                "start_s": 1 * HOUR,
                "end_s": 2 * HOUR,
                "preemptions": 0,
                "preempted_run_s": 0.0,
            },
            # a team without an allocation has no queue: its job never starts.
            {
                "team": "nobody",
                "start_s": None,
                "end_s": None,
                "preemptions": 0,
                "preempted_run_s": 0.0,
            },
        ],
        id="BorrowLimit 0 queues a team's second job and a team without quota never runs",
    ),
    pytest.param(
        make_policy().team("a", count=1, borrow_limit=100).team("b", count=2).build(),
        [("a", 8, 0, 2), ("a", 8, 0.5, 2), ("b", 16, 1, 1)],
        [
            {
                "team": "a",
                "start_s": 0.0,
                "end_s": 2 * HOUR,
                "preemptions": 0,
                "preempted_run_s": 0.0,
            },
            # borrowed from b, reclaimed by b at 1h (the newest admission goes first), and
            # run again from 2h, after b's job.
            {
                "team": "a",
                "start_s": 0.5 * HOUR,
                "end_s": 4 * HOUR,
                "preemptions": 1,
                # the half hour it ran before the reclaim is lost.
                "preempted_run_s": 0.5 * HOUR,
            },
            # admitted at the instant its victim is evicted (the twin's victims release their
            # quota when evicted; see README, The twin).
            {
                "team": "b",
                "start_s": 1 * HOUR,
                "end_s": 2 * HOUR,
                "preemptions": 0,
                "preempted_run_s": 0.0,
            },
        ],
        id="a borrowed job is reclaimed when the lender needs its quota",
    ),
]


@pytest.mark.parametrize(("policy", "jobs", "want_history"), REPLAY_CASES)
def test_replay_records_what_the_twin_did(
    policy: Policy, jobs: list[tuple[str, int, float, float]], want_history: list[dict[str, Any]]
) -> None:
    result = replay(workloads(*jobs), policy, make_cluster(3), name="current")
    got = result.history.select(
        "team", "start_s", "end_s", "preemptions", "preempted_run_s"
    ).to_dicts()
    assert got == want_history


def test_workloads_from_history_take_run_time_from_start_and_end() -> None:
    frame = history(
        job("a", submit_h=0, start_h=1, end_h=3),
        job("a", submit_h=0, start_h=None, end_h=None),
    ).with_columns(run_s=pl.lit(None, pl.Float64))
    got = workloads_from_history(frame).select("team", "submit_s", "run_s").to_dicts()
    assert got == [{"team": "a", "submit_s": 0.0, "run_s": 2 * HOUR}]


def test_nominal_accelerators_counts_whole_instances() -> None:
    policy = make_policy().team("a", count=2).team("b", count=0).build()
    assert nominal_accelerators(policy) == {("a", P4D): 16, ("b", P4D): 0}
