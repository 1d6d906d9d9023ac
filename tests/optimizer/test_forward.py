"""The forward recommender's guarantees: guarantees kept, largest jobs runnable, weights
left alone without FairShare, warnings for worse teams, and exact plans for small traces."""

from __future__ import annotations

from typing import Any

import pytest

from optimizer.demand import FrameDemandSource
from optimizer.evaluate.policies import team_values
from optimizer.plan import QuotaView, TeamPlan, build_plan, plan_rows, warnings
from optimizer.recommend import recommend
from optimizer.robust import verdict_losses
from optimizer.settings import ForwardSettings, OptimizerSettings, SolverSettings
from tests.optimizer.builders import HOUR, P4D, daily, history, make_cluster, make_policy

# One report future keeps the exact plans below to one resampled future's numbers.
SETTINGS = OptimizerSettings(
    solver=SolverSettings(num_workers=1),
    forward=ForwardSettings(holdout_days=2, future_days=2, futures=1),
)
DAYS = 6


def _busy_b() -> list[dict[str, Any]]:
    """team-b keeps three 8-GPU jobs a day running for 8 hours each, one after another."""
    jobs = []
    for start in (0, 8, 16):
        jobs += daily("team-b", DAYS, submit_h=start, start_h=start, end_h=start + 8)
    return jobs


NO_HISTORY_CASES = [
    pytest.param({}, {}, 2, id="a team without jobs keeps its 2 instances"),
    pytest.param({"team-a": {"*": 1}}, {}, 1, id="a team without jobs keeps its floor of 1"),
    pytest.param({"team-a": {P4D: 0}}, {}, 0, id="only the admin's floor of 0 takes all away"),
    pytest.param({}, {"team-a": {"*": 1}}, 1, id="a team without jobs stays under its ceiling"),
]


@pytest.mark.parametrize(("floors", "ceilings", "want_count"), NO_HISTORY_CASES)
def test_recommend_keeps_the_guarantee_of_a_team_without_history(
    floors: dict[str, dict[str, int]], ceilings: dict[str, dict[str, int]], want_count: int
) -> None:
    policy = make_policy().team("team-a", count=2).team("team-b", count=1).build()
    settings = SETTINGS.model_copy(update={"floors": floors, "ceilings": ceilings})
    for replay in (False, True):
        rec = recommend(
            FrameDemandSource(history(*_busy_b())), policy, make_cluster(3), settings, replay=replay
        )
        assert rec.proposed is not None
        assert team_values(rec.proposed)["team-a"].nominal == {P4D: want_count}


LARGEST_JOB_CASES = [
    pytest.param(None, 4, 32, id="by default the largest job any team submitted (32 GPUs)"),
    pytest.param(64, 8, 64, id="a setting of 64 GPUs, which 8 instances hold"),
    pytest.param(64, 4, 32, id="a setting of 64 GPUs on 4 instances: as far as capacity goes"),
]


@pytest.mark.parametrize(("largest_acc", "instances", "want_runnable"), LARGEST_JOB_CASES)
def test_recommended_borrow_limit_lets_every_team_run_the_largest_plausible_job(
    largest_acc: int | None, instances: int, want_runnable: int
) -> None:
    # team-a's history never shows more than 8 GPUs; team-c's one job asks for 32.
    jobs = daily("team-a", DAYS, submit_h=0, start_h=0, end_h=4) + _busy_b()
    jobs += daily("team-c", 1, gpus=32, submit_h=1, start_h=1, end_h=2)
    policy = (
        make_policy()
        .team("team-a", count=1)
        .team("team-b", count=1)
        .team("team-c", count=1, borrow_limit=0)
        .build()
    )
    forward = SETTINGS.forward.model_copy(update={"largest_job_acc": largest_acc})
    settings = SETTINGS.model_copy(update={"forward": forward})
    rec = recommend(FrameDemandSource(history(*jobs)), policy, make_cluster(instances), settings)
    assert rec.proposed is not None
    reach = {}
    for team, values in team_values(rec.proposed).items():
        held = 8 * values.nominal[P4D]
        limit = 50 if values.borrow_limit_pct is None else values.borrow_limit_pct
        reach[team] = held + held * limit // 100
    assert min(reach.values()) >= want_runnable
    assert rec.largest_job_acc == (32 if largest_acc is None else largest_acc)


WEIGHT_CASES = [
    pytest.param(None, None, id="unset weights stay unset"),
    pytest.param(0, 0, id="weights of 0 stay 0"),
    pytest.param(30, 30, id="weights of 30 stay 30"),
]


@pytest.mark.parametrize(("weight", "want_weight"), WEIGHT_CASES)
def test_recommend_leaves_weights_alone_with_fair_share_disabled(
    weight: int | None, want_weight: int | None
) -> None:
    builder = make_policy().team("team-a", count=2, weight=weight)
    builder = builder.team("team-b", count=1, weight=weight)
    builder.fair_share = "Disabled"
    jobs = daily("team-a", DAYS, submit_h=0, start_h=0, end_h=2) + _busy_b()
    for replay in (False, True):
        rec = recommend(
            FrameDemandSource(history(*jobs)),
            builder.build(),
            make_cluster(3),
            SETTINGS,
            replay=replay,
        )
        assert rec.proposed is not None
        weights = {t: v.fair_share_weight for t, v in team_values(rec.proposed).items()}
        assert weights == {"team-a": want_weight, "team-b": want_weight}


def _team(name: str, before_s: float | None, after_s: float | None) -> TeamPlan:
    view = QuotaView(nominal={P4D: 1}, borrow_limit_pct=None, fair_share_weight=None)
    return TeamPlan(
        team=name,
        changed=False,
        current=view,
        proposed=view,
        why=[],
        effect={"wait_p95_s": (before_s, after_s)},
        aws_cli=None,
        kueue_patch=None,
    )


WARNING_CASES = [
    pytest.param(
        [_team("team-a", 0.0, 28.4 * HOUR), _team("team-b", 10 * HOUR, 2 * HOUR)],
        2 * HOUR,
        ["team team-a waits longer: p95 0.0 h -> 28.4 h"],
        id="a team whose p95 wait grows from 0 to 28.4 h is named",
    ),
    pytest.param(
        [_team("team-a", 5 * HOUR, 5 * HOUR)],
        588 * HOUR,
        [
            "the proposal still leaves a p95 wait of 588.0 h (above 24.0 h): the cluster is "
            "short of capacity"
        ],
        id="a p95 wait of 588 h left by the proposal is named",
    ),
    pytest.param(
        [_team("team-a", 30 * 60.0, 20 * 60.0)],
        20 * 60.0,
        [],
        id="no team worse and waits under the threshold: no warning",
    ),
]


@pytest.mark.parametrize(("teams", "proposed_wait_s", "want_warnings"), WARNING_CASES)
def test_plan_warns_on_a_worse_team_and_on_long_waits(
    teams: list[TeamPlan], proposed_wait_s: float, want_warnings: list[str]
) -> None:
    overall = {"proposed": {"wait_p95_s": proposed_wait_s}}
    assert warnings(overall, teams, SETTINGS) == want_warnings


def test_recommend_plans_a_starved_team_exactly() -> None:
    # team-a uses 8 of its 16 GPUs 4 hours a day; team-b needs 24 GPUs all day on its 8,
    # and today may not borrow (BorrowLimit 0). FairShare Disabled.
    policy = (
        make_policy()
        .team("team-a", count=2, borrow_limit=0, weight=None)
        .team("team-b", count=1, borrow_limit=0, weight=None)
    )
    policy.fair_share = "Disabled"
    jobs = daily("team-a", DAYS, submit_h=0, start_h=0, end_h=4) + _busy_b()
    for day in range(DAYS):
        jobs += daily("team-b", 1, submit_h=24 * day + 1, start_h=24 * day + 9, end_h=24 * day + 17)
    rec = recommend(FrameDemandSource(history(*jobs)), policy.build(), make_cluster(3), SETTINGS)
    plan = build_plan(rec, SETTINGS)
    # CP-SAT at p75 (BorrowLimit 10000) moves an instance to team-b: at p50 team-b borrows
    # team-a's idle GPUs and loses them when team-a reclaims (6.2 against 3.0).
    assert plan.chosen == "cp-sat p75 borrow 10000"
    assert plan_rows(plan) == [
        {
            "team": "team-a",
            "nominal": "ml.p4d.24xlarge 2 -> 1",
            "borrow limit %": "0 -> 10000",
            "weight": "-",
            # out of sample: team-a's 4-hour job waits for a finishing team-b job.
            "wait p95": "0.0 h -> 20 min",
            "why": "ml.p4d.24xlarge: p75 demand 0 GPUs needs 0 of its 2 instances; lends 1 to "
            "teams short of quota; BorrowLimit 0% -> 10000%: it may borrow any idle capacity "
            "(its owners reclaim it when they need it)",
        },
        {
            "team": "team-b",
            "nominal": "ml.p4d.24xlarge 1 -> 2",
            "borrow limit %": "0 -> 10000",
            "weight": "-",
            # out of sample: 16 h under today's BorrowLimit 0, none borrowing.
            "wait p95": "16.0 h -> 0.0 h",
            "why": "ml.p4d.24xlarge: p75 demand 16 GPUs exceeds the 8 guaranteed; nominal 1 -> 2 "
            "instances; BorrowLimit 0% -> 10000%: it may borrow any idle capacity (its owners "
            "reclaim it when they need it)",
        },
    ]
    assert {name: plan.overall[name]["preempted_gpu_h"] for name in plan.overall} == {
        "current": 0.0,
        "proposed": 0.0,
    }
    assert plan.warnings == ["team team-a waits longer: p95 0.0 h -> 20 min"]
    assert plan.evidence.startswith("out of sample: the candidates were fitted on the history")
    assert "the mean (range) over one replay of a 2-day future resampled by day" in plan.evidence


VERDICT_CASES = [
    pytest.param(
        [{"a": (0.0, 0.0, 0.0), "b": (0.0, 0.0, 0.0)}],
        {"a": 1, "b": 1},
        id="equal numbers: neither wins against the other, so each counts one loss",
    ),
    pytest.param(
        [{"wait": (1.0, 10.0, 500.0), "lend": (10.0, 100.0, 0.0), "mid": (1.0, 10.0, 100.0)}],
        {"wait": 2, "lend": 2, "mid": 1},
        id="mid loses only to lend, which preempts nothing; the others lose to both",
    ),
    pytest.param(
        [
            {"x": (1.0, 1.0, 1.0), "y": (2.0, 2.0, 2.0)},
            {"x": (3.0, 3.0, 3.0), "y": (1.0, 1.0, 1.0)},
        ],
        {"x": 1, "y": 1},
        id="each beaten in one future: one loss each, whatever the sums",
    ),
]


@pytest.mark.parametrize(("judged", "want_losses"), VERDICT_CASES)
def test_verdict_losses_count_the_candidates_that_beat_or_are_not_beaten(
    judged: list[dict[str, tuple[float, float, float]]], want_losses: dict[str, int]
) -> None:
    runs = [(j, (1.0, 1.0, 1.0)) for j in judged]
    assert verdict_losses(runs) == want_losses
