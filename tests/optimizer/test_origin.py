"""Replays start from the cluster at the origin: running jobs pre-admitted, their remaining run
estimated without their end, and the forward evaluation hiding that end from the recommender."""

from __future__ import annotations

import polars as pl
import pytest

from optimizer.demand import check_jobs
from optimizer.evaluate.state import origin_state
from optimizer.origin import estimated_state, held_at
from optimizer.replay import WORKLOAD_COLUMNS, replay
from tests.optimizer.builders import HOUR, P4D, history, job, make_cluster, make_policy


def _workloads(*rows: tuple[str, int, float, float, float | None]) -> pl.DataFrame:
    """(team, GPUs, submit hour, run hours, hours run before the replay starts or None)."""
    return pl.DataFrame(
        [(t, P4D, g, s * HOUR, r * HOUR, None, e and e * HOUR) for t, g, s, r, e in rows],
        schema={**WORKLOAD_COLUMNS, "elapsed_s": pl.Float64},
        orient="row",
    )


def test_a_running_job_holds_its_gpus_from_the_start_and_its_preemption_loses_its_past_run() -> (
    None
):
    # b's 16-GPU job (1 instance, BorrowLimit 10000) runs on a's instance too when the replay
    # starts; a's job at hour 1 reclaims it: it loses the 30 hours before the start and the
    # hour since, and runs again once a's job is done.
    policy = make_policy().team("a", count=1).team("b", count=1, borrow_limit=10_000).build()
    jobs = _workloads(("b", 16, 0, 10, 30), ("a", 8, 1, 1, None))
    played = replay(jobs, policy, make_cluster(2), name="start").history
    assert played.select("start_s", "end_s", "preemptions", "preempted_run_s").rows() == [
        (0.0, 12 * HOUR, 1, 31 * HOUR),
        (1 * HOUR, 2 * HOUR, 0, 0.0),
    ]


def test_the_remaining_run_is_the_median_of_longer_finished_runs_minus_the_run_so_far() -> None:
    # a's finished runs: 2, 6, 10 and 20 h. At hour 100 one a job has run 5 h (longer runs:
    # 6, 10, 20: median 10, so 5 h left), one 30 h (none longer: as long again), and one waits
    # (a's median run, 6 h).
    jobs = [job("a", submit_h=h, start_h=h, end_h=h + r) for h, r in ((0, 2), (10, 6), (20, 10))]
    jobs += [job("a", submit_h=40, start_h=40, end_h=60)]
    jobs += [
        job("a", submit_h=95, start_h=95, end_h=None),
        job("a", submit_h=70, start_h=70, end_h=None),
    ]
    jobs += [job("a", submit_h=99, start_h=None, end_h=None)]
    state = estimated_state(check_jobs(history(*jobs), "jobs"), 100 * HOUR)
    assert state.select("submit_s", "run_s", "elapsed_s").rows() == [
        (100 * HOUR, 30 * HOUR, 30 * HOUR),
        (100 * HOUR, 5 * HOUR, 5 * HOUR),
        (100 * HOUR, 6 * HOUR, None),
    ]


def test_the_evaluation_hides_a_running_jobs_end_from_the_recommender_but_replays_it() -> None:
    # Before the origin (hour 10): a's 100-hour job from hour 0, and b's 2-hour job, done.
    jobs = _workloads(("a", 8, 0, 100, None), ("b", 8, 1, 2, None)).drop("elapsed_s")
    policy = make_policy().team("a", count=1).team("b", count=1).build()
    at_origin = origin_state(jobs, 10 * HOUR, policy, make_cluster(2))
    assert at_origin.recorded.select("team", "start_s", "end_s", "run_s").rows() == [
        ("a", 0.0, None, None),
        ("b", 1 * HOUR, 3 * HOUR, 2 * HOUR),
    ]
    assert at_origin.state.select("team", "submit_s", "run_s", "elapsed_s").rows() == [
        ("a", 10 * HOUR, 90 * HOUR, 10 * HOUR),
    ]


HELD_CASES = [
    pytest.param(2, {"a": {P4D: 2}}, id="a job on 16 GPUs fills 2 instances"),
    pytest.param(1, {"a": {P4D: 1}}, id="no more than today's count"),
]


@pytest.mark.parametrize(("count", "want_held"), HELD_CASES)
def test_held_at_counts_the_instances_running_jobs_fill(
    count: int, want_held: dict[str, dict[str, int]]
) -> None:
    jobs = history(job("a", gpus=16, submit_h=0, start_h=0, end_h=None), job("b", end_h=1))
    policy = make_policy().team("a", count=count).team("b", count=1).build()
    assert held_at(jobs, 2 * HOUR, policy) == want_held
