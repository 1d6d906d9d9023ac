"""Plans: the exact aws sagemaker calls and ClusterQueue merge patches a recommendation takes."""

from __future__ import annotations

import json

import pytest

from optimizer.demand import FrameDemandSource
from optimizer.plan import Plan, build_plan, plan_rows
from optimizer.recommend import recommend
from optimizer.settings import OptimizerSettings, SolverSettings
from taskgov.policy.model import Policy
from tests.optimizer.builders import (
    P4D,
    daily,
    history,
    job,
    make_cluster,
    make_policy,
    two_teams_no_borrowing,
)
from tests.optimizer.test_recommend import _starving_history

SETTINGS = OptimizerSettings(solver=SolverSettings(num_workers=1))


def _plan(policy: Policy, jobs: list[dict[str, object]] | None = None) -> Plan:
    frame = _starving_history() if jobs is None else history(*jobs)
    rec = recommend(FrameDemandSource(frame), policy, make_cluster(3), SETTINGS, replay=False)
    return build_plan(rec, SETTINGS)


def _gpu_patch(team: str, count: int, borrow: str, weight: str) -> str:
    resources = [
        {"name": "cpu", "nominalQuota": str(96 * count), "borrowingLimit": borrow},
        {"name": "memory", "nominalQuota": f"{1152 * count}Gi", "borrowingLimit": borrow},
        {"name": "nvidia.com/gpu", "nominalQuota": str(8 * count), "borrowingLimit": borrow},
    ]
    spec = {
        "resourceGroups": [
            {
                "coveredResources": ["cpu", "memory", "nvidia.com/gpu"],
                "flavors": [{"name": "ml.p4d.24xlarge", "resources": resources}],
            }
        ],
        "fairSharing": {"weight": weight},
    }
    body = json.dumps({"spec": spec}, separators=(",", ":"))
    return f"kubectl patch clusterqueue hyperpod-ns-{team}-clusterqueue --type merge -p '{body}'"


COMMAND_CASES = [
    pytest.param(
        two_teams_no_borrowing(),
        None,
        {
            "team-a": (
                "aws sagemaker update-compute-quota --compute-quota-id <ID:team-a-quota> "
                "--target-version <VERSION:team-a-quota> --compute-quota-config "
                '"ComputeQuotaResources=[{InstanceType=ml.p4d.24xlarge,Count=1}],'
                "ResourceSharingConfig={Strategy=LendAndBorrow,BorrowLimit=0},"
                'PreemptTeamTasks=LowerPriority" '
                '--compute-quota-target "TeamName=team-a,FairShareWeight=0"',
                _gpu_patch("team-a", 1, "0", "1"),
            ),
            "team-b": (
                "aws sagemaker update-compute-quota --compute-quota-id <ID:team-b-quota> "
                "--target-version <VERSION:team-b-quota> --compute-quota-config "
                '"ComputeQuotaResources=[{InstanceType=ml.p4d.24xlarge,Count=2}],'
                "ResourceSharingConfig={Strategy=LendAndBorrow,BorrowLimit=0},"
                'PreemptTeamTasks=LowerPriority" '
                '--compute-quota-target "TeamName=team-b,FairShareWeight=0"',
                _gpu_patch("team-b", 2, "0", "1"),
            ),
        },
        id="quota moves from the idle team to the starved one, as update calls and patches",
    ),
    pytest.param(
        make_policy().team("team-a", count=2).build(),
        daily("team-new", 3, submit_h=0, start_h=0, end_h=24),
        {
            "team-a": (None, None),
            "team-new": (
                "aws sagemaker create-compute-quota --name team-new-quota --cluster-arn "
                "<CLUSTER-ARN> --compute-quota-config "
                '"ComputeQuotaResources=[{InstanceType=ml.p4d.24xlarge,Count=1}],'
                'ResourceSharingConfig={Strategy=LendAndBorrow},PreemptTeamTasks=LowerPriority" '
                '--compute-quota-target "TeamName=team-new" --activation-state Enabled',
                None,
            ),
        },
        id="a team with demand but no allocation gets a new one from the spare instance",
    ),
]


@pytest.mark.parametrize(("policy", "jobs", "want_commands"), COMMAND_CASES)
def test_plan_commands_are_exact(
    policy: Policy,
    jobs: list[dict[str, object]] | None,
    want_commands: dict[str, tuple[str | None, str | None]],
) -> None:
    plan = _plan(policy, jobs)
    got = {team.team: (team.aws_cli, team.kueue_patch) for team in plan.teams}
    assert (plan.status, got) == ("optimal", want_commands)


def test_plan_rows_show_current_to_proposed_and_why() -> None:
    policy = two_teams_no_borrowing()
    rows = plan_rows(_plan(policy))
    assert rows == [
        {
            "team": "team-a",
            "nominal": "ml.p4d.24xlarge 2 -> 1",
            "borrow limit %": "0",
            "weight": "0",
            "wait p95": "-",
            "why": "ml.p4d.24xlarge: p75 demand 8 GPUs needs 1 of its 2 instances; "
            "lends 1 to teams short of quota",
        },
        {
            "team": "team-b",
            "nominal": "ml.p4d.24xlarge 1 -> 2",
            "borrow limit %": "0",
            "weight": "0",
            "wait p95": "-",
            "why": "ml.p4d.24xlarge: p75 demand 24 GPUs exceeds the 8 guaranteed; "
            "nominal 1 -> 2 instances",
        },
    ]


def _bursts(*jobs: dict[str, object]) -> list[dict[str, object]]:
    """team-b runs 8 GPUs all day for 5 days, plus ``jobs``."""
    return [*daily("team-b", 5, submit_h=0, start_h=0, end_h=24), *jobs]


WHY_BORROW_CASES = [
    pytest.param(
        # 16 more GPUs 3 hours a day (12.5% of the time): p75 8, p95 24.
        _bursts(*daily("team-b", 5, submit_h=0, start_h=0, end_h=3) * 2),
        (
            200,
            100,
            [
                "BorrowLimit 50% -> 200%: it must borrow 16 GPUs of ml.p4d.24xlarge to reach "
                "p95 demand beside idle ones",
                "FairShareWeight 0 -> 100: idle capacity is shared in proportion to burst "
                "demand (peak minus sustained), the burstiest team at 100",
            ],
        ),
        id="a team bursting every day borrows up to its peak and gets the fair-share weight",
    ),
    pytest.param(
        # 16 more GPUs once, for 2 of the 120 hours: p95 stays 8, the most recorded is 24.
        _bursts(*[job("team-b", submit_h=49, start_h=49, end_h=51)] * 2),
        (
            200,
            0,
            [
                "BorrowLimit 50% -> 200%: it must borrow 16 GPUs of ml.p4d.24xlarge to reach "
                "the most demand recorded (24 GPUs) beside idle ones"
            ],
        ),
        id="a team that burst once may borrow that much again from idle capacity",
    ),
]


@pytest.mark.parametrize(("jobs", "want"), WHY_BORROW_CASES)
def test_plan_says_why_a_borrow_limit_rises(
    jobs: list[dict[str, object]], want: tuple[int, int, list[str]]
) -> None:
    policy = make_policy().team("team-a", count=2).team("team-b", count=1).build()
    plan = _plan(policy, jobs)
    team = next(t for t in plan.teams if t.team == "team-b")
    got = (team.proposed.borrow_limit_pct, team.proposed.fair_share_weight, team.why)
    assert (plan.status, team.proposed.nominal, got) == ("optimal", {P4D: 1}, want)
