"""The pipeline end to end on hand-made histories: proposals and their effect on the twin."""

from __future__ import annotations

import polars as pl
import pytest

from optimizer.demand import FrameDemandSource
from optimizer.model.read import QuotaValues, TeamProposal
from optimizer.plan import build_plan
from optimizer.recommend import recommend
from optimizer.settings import ForwardSettings, OptimizerSettings, SolverSettings
from tests.optimizer.builders import (
    HOUR,
    P4D,
    daily,
    history,
    make_cluster,
    make_policy,
    two_teams_no_borrowing,
)

# One report future keeps the exact plans below to one resampled week's numbers.
SETTINGS = OptimizerSettings(
    solver=SolverSettings(num_workers=1), forward=ForwardSettings(futures=1)
)
DAYS = 5


def _starving_history() -> pl.DataFrame:
    """team-b runs three 8-GPU jobs a day one after another on its 8 GPUs (BorrowLimit 0),
    while team-a uses 8 of its 16 for 8 hours: team-b waits beside idle GPUs every day."""
    jobs = daily("team-a", DAYS, submit_h=0, start_h=0, end_h=8)
    for start in (0, 8, 16):
        jobs += daily("team-b", DAYS, submit_h=0, start_h=start, end_h=start + 8)
    return history(*jobs)


def test_recommend_gives_a_team_starved_every_day_more_and_the_twin_confirms_it() -> None:
    policy = two_teams_no_borrowing()
    rec = recommend(FrameDemandSource(_starving_history()), policy, make_cluster(3), SETTINGS)
    starved = rec.profile.by_team.filter(pl.col("team") == "team-b")["starved_h"].item()
    assert starved == 16.0 * DAYS
    assert (rec.report.status, rec.proposals) == (
        "optimal",
        (
            TeamProposal("team-a", QuotaValues({P4D: 2}, 0, 0), QuotaValues({P4D: 2}, 10_000, 33)),
            TeamProposal("team-b", QuotaValues({P4D: 1}, 0, 0), QuotaValues({P4D: 1}, 10_000, 100)),
        ),
    )
    assert rec.choice is not None
    # Every finalist ties (team-b borrows the 8 GPUs team-a leaves idle; nobody reclaims):
    # the first, CP-SAT at p50, keeps the counts and lets team-b borrow.
    assert rec.choice.chosen == "cp-sat p50 borrow 10000"
    plan = build_plan(rec, SETTINGS)
    # Out of sample (resampled days of the hold-out): team-b's p95 wait 24 h -> 8 h.
    assert [(t.team, t.effect) for t in plan.teams] == [
        ("team-a", {"wait_p95_s": (0.0, 0.0)}),
        ("team-b", {"wait_p95_s": (24 * HOUR, 8 * HOUR)}),
    ]
    assert {n: (v["wait_p95_s"], v["preempted_gpu_h"]) for n, v in plan.overall.items()} == {
        "current": (24 * HOUR, 0.0),
        "proposed": (8 * HOUR, 0.0),
    }


def test_the_effect_is_a_mean_and_range_over_three_resampled_futures_by_default() -> None:
    settings = OptimizerSettings(solver=SolverSettings(num_workers=1))
    rec = recommend(
        FrameDemandSource(_starving_history()), two_teams_no_borrowing(), make_cluster(3), settings
    )
    plan = build_plan(rec, settings)
    assert rec.choice is not None and len(rec.choice.today) == settings.forward.futures == 3
    # Every resampled day of team-b is the same; the futures differ only in when each team's
    # extra job of the largest plausible size arrives: today team-b waits 24 h at p95 in two
    # of them and 16 h in the third; proposed, 8 h in all three.
    waits = {
        name: (v["wait_p95_s"], v["wait_p95_s_min"], v["wait_p95_s_max"])
        for name, v in plan.overall.items()
    }
    assert waits == {
        "current": (64 / 3 * HOUR, 16 * HOUR, 24 * HOUR),
        "proposed": (8 * HOUR, 8 * HOUR, 8 * HOUR),
    }
    assert "the mean (range) over 3 replays of 7-day futures" in plan.evidence


def test_recommend_keeps_the_quota_of_a_team_without_jobs_and_lends_it() -> None:
    jobs = []
    for _ in range(3):
        jobs += daily("team-b", DAYS, submit_h=0, start_h=0, end_h=24)
    policy = make_policy().team("team-a", count=2).team("team-b", count=1).build()
    rec = recommend(
        FrameDemandSource(history(*jobs)), policy, make_cluster(3), SETTINGS, replay=False
    )
    # team-a has no jobs: nothing says it needs less, so it keeps its 2 instances and
    # team-b borrows them (BorrowLimit 200: 16 GPUs on its 8).
    assert (rec.report.status, rec.proposals) == (
        "optimal",
        (
            TeamProposal("team-a", QuotaValues({P4D: 2}, 50, 0), QuotaValues({P4D: 2}, 50, 0)),
            TeamProposal("team-b", QuotaValues({P4D: 1}, 50, 0), QuotaValues({P4D: 1}, 200, 0)),
        ),
    )


def test_recommend_uses_only_jobs_since() -> None:
    jobs = daily("team-b", 2, submit_h=0, start_h=0, end_h=24)
    policy = make_policy().team("team-a", count=2).team("team-b", count=1).build()
    rec = recommend(
        FrameDemandSource(history(*jobs)),
        policy,
        make_cluster(3),
        SETTINGS,
        since_s=24 * HOUR,
        replay=False,
    )
    assert rec.profile.window.start_s == 24 * HOUR
    assert rec.profile.by_team["jobs"].sum() == 1


INFEASIBLE_SETTINGS_CASES = [
    pytest.param(
        {"team-a": {"*": 2}, "team-b": {P4D: 2}},
        [
            "capacity[ml.p4d.24xlarge]: teams' nominal ml.p4d.24xlarge instances fit in the "
            "cluster's 3",
            "floor[team-a,ml.p4d.24xlarge]: team-a keeps at least 2 ml.p4d.24xlarge instances",
            "floor[team-b,ml.p4d.24xlarge]: team-b keeps at least 2 ml.p4d.24xlarge instances",
        ],
        id="two floors of 2 on 3 instances name the capacity and both floors",
    ),
    pytest.param(
        {"team-a": {"*": 4}},
        [
            "capacity[ml.p4d.24xlarge]: teams' nominal ml.p4d.24xlarge instances fit in the "
            "cluster's 3",
            "floor[team-a,ml.p4d.24xlarge]: team-a keeps at least 4 ml.p4d.24xlarge instances",
        ],
        id="a floor above the cluster names the capacity and the floor",
    ),
]


@pytest.mark.parametrize(("floors", "want_conflicts"), INFEASIBLE_SETTINGS_CASES)
def test_recommend_reports_infeasible_settings_naming_the_constraints(
    floors: dict[str, dict[str, int]], want_conflicts: list[str]
) -> None:
    settings = SETTINGS.model_copy(update={"floors": floors})
    jobs = daily("team-b", 2, submit_h=0, start_h=0, end_h=24)
    policy = make_policy().team("team-a", count=2).team("team-b", count=1).build()
    rec = recommend(
        FrameDemandSource(history(*jobs)), policy, make_cluster(3), settings, replay=False
    )
    got = (rec.report.status, [str(c) for c in rec.report.conflicts], rec.proposals, rec.proposed)
    assert got == ("infeasible", want_conflicts, (), None)
