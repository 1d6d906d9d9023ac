"""Guardrails: one refusal per named check, and nothing applied ever breaks one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.appliers.base import Backend, Call, Desired, LiveObject, LiveState, Outcome
from optimizer.appliers.engine import run_apply
from optimizer.appliers.guardrails import (
    ApplyContext,
    GuardrailSettings,
    check,
)
from optimizer.appliers.quotas import NO_QUOTA, TeamQuota

NOW = datetime(2026, 1, 10, 12, 0)
T = "ml.p4d.24xlarge"


def quota(instances: int, borrow: int = 50, weight: int = 0) -> TeamQuota:
    return TeamQuota(
        nominal={T: instances} if instances else {},
        borrow_limit_pct=borrow,
        fair_share_weight=weight,
    )


def context(**overrides: Any) -> ApplyContext:
    values: dict[str, Any] = {
        "capacity": {T: 8},
        "computed_from": None,
        "evidence_end": None,
        "last_applied": {},
        "now": NOW,
    }
    values.update(overrides)
    return ApplyContext(**values)


LIVE = {"team-a": quota(4), "team-b": quota(4)}


@pytest.mark.parametrize(
    ("target", "limits", "ctx", "want"),
    [
        pytest.param(
            {"team-a": quota(5)},
            {},
            {},
            [
                "[capacity] ml.p4d.24xlarge: teams would be guaranteed 9 instances, the cluster has 8"
            ],
            id="more instances than the cluster has are refused",
        ),
        pytest.param(
            {"team-a": quota(2), "team-b": quota(6, borrow=50)},
            {"floors": {"team-a": {"*": 3}}},
            {},
            ["[floor] team-a: ml.p4d.24xlarge: 2 instances is below its floor of 3"],
            id="a team below its floor is refused",
        ),
        pytest.param(
            {"team-a": quota(3)},
            {"ceilings": {"team-b": {T: 3}}},
            {},
            [],
            id="a ceiling of a team that does not change is not checked",
        ),
        pytest.param(
            {"team-a": quota(3), "team-b": quota(5)},
            {"ceilings": {"team-b": {T: 4}}},
            {},
            ["[ceiling] team-b: ml.p4d.24xlarge: 5 instances is above its ceiling of 4"],
            id="a team above its ceiling is refused",
        ),
        pytest.param(
            {"team-a": quota(0), "team-b": quota(8)},
            {"max_instances_change": 3},
            {},
            [
                "[max-instances-change] team-a: ml.p4d.24xlarge: 4 -> 0 instances changes 4, at most 3 per apply",
                "[max-instances-change] team-b: ml.p4d.24xlarge: 4 -> 8 instances changes 4, at most 3 per apply",
            ],
            id="a step larger than the change cap is refused for each team",
        ),
        pytest.param(
            {"team-a": quota(4, borrow=300)},
            {"max_borrow_limit_change_pct": 200},
            {},
            [
                "[max-borrow-limit-change] team-a: BorrowLimit 50 -> 300 changes 250 points, at most 200 per apply"
            ],
            id="a BorrowLimit step above the cap is refused",
        ),
        pytest.param(
            {"team-a": quota(4, weight=30)},
            {"max_weight_change": 20},
            {},
            [
                "[max-weight-change] team-a: FairShareWeight 0 -> 30 changes 30 points, at most 20 per apply"
            ],
            id="a FairShareWeight step above the cap is refused",
        ),
        pytest.param(
            {"team-a": quota(3), "team-b": quota(5)},
            {"max_teams_changed": 1},
            {},
            ["[max-teams-changed] 2 teams would change (team-a, team-b), at most 1 per apply"],
            id="more teams than allowed are refused",
        ),
        pytest.param(
            {"team-a": quota(3)},
            {},
            {"last_applied": {"team-a": NOW - timedelta(hours=2)}},
            ["[cooldown] team-a: last changed 2.0 h ago; the cooldown is 24.0 h"],
            id="a team changed two hours ago is in its cooldown",
        ),
        pytest.param(
            {"team-a": quota(3)},
            {},
            {"last_applied": {"team-b": NOW - timedelta(hours=2)}},
            [],
            id="another team's cooldown does not hold this one back",
        ),
        pytest.param(
            {"team-a": quota(3)},
            {},
            {"evidence_end": NOW - timedelta(days=9)},
            [
                "[evidence-age] the recommendation's evidence ends 9.0 days ago, older than the limit of 7.0 days"
            ],
            id="evidence older than a week is refused",
        ),
        pytest.param(
            {"team-a": quota(3)},
            {},
            {"computed_from": {"team-a": quota(4), "team-b": quota(3)}},
            [
                "[drift] team-b: live 4 x ml.p4d.24xlarge, BorrowLimit 50, weight 0 is not what the recommendation saw (3 x ml.p4d.24xlarge, BorrowLimit 50, weight 0)"
            ],
            id="a live policy the recommendation did not see is drift",
        ),
        pytest.param(
            {"team-a": quota(3)},
            {"allow_drift": True},
            {"computed_from": {"team-a": quota(1)}},
            [],
            id="drift may be allowed on purpose",
        ),
    ],
)
def test_guardrail_refuses_with_its_name(
    target: dict[str, TeamQuota], limits: dict[str, Any], ctx: dict[str, Any], want: list[str]
) -> None:
    refusals = check(LIVE, target, GuardrailSettings(**limits), context(**ctx))
    assert [r.line() for r in refusals] == want


class MemoryApplier:
    """A governance API in memory, to drive the engine over random states."""

    backend = Backend.SAGEMAKER
    endpoint = "memory://"

    def __init__(self, live: dict[str, TeamQuota]) -> None:
        self.state = dict(live)

    def caller(self) -> str:
        return "tester"

    def read_live(self) -> LiveState:
        objects = {t: LiveObject(t, t, "1", {"q": q}) for t, q in self.state.items()}
        return LiveState(objects=objects, quotas=dict(self.state))

    def desired(self, policy: Any, team: str) -> Desired:
        raise NotImplementedError

    def restore(self, team: str, body: dict[str, Any] | None) -> Desired:
        return Desired(team, body or {}, (body or {}).get("q", quota(0)))

    def call_for(self, live: LiveState, desired: Desired) -> Call | None:
        if live.quotas.get(desired.team) == desired.quota:
            return None
        before = {"q": live.quotas[desired.team]} if desired.team in live.quotas else None
        return Call(
            desired.team,
            "ComputeQuota",
            desired.team,
            "UpdateComputeQuota",
            {"team": desired.team},
            before,
            {"q": desired.quota},
        )

    def make(self, call: Call) -> dict[str, Any]:
        assert call.team is not None
        self.state[call.team] = call.after["q"]
        return {}


team_quotas = st.builds(quota, st.integers(0, 6), st.integers(0, 400), st.integers(0, 100))
states = st.dictionaries(
    st.sampled_from(["team-a", "team-b", "team-c", "team-d"]), team_quotas, min_size=1, max_size=4
)
limits = st.builds(
    GuardrailSettings,
    floors=st.just({"team-a": {"*": 1}}),
    ceilings=st.just({"team-b": {T: 5}}),
    max_instances_change=st.integers(0, 6),
    max_borrow_limit_change_pct=st.integers(0, 400),
    max_weight_change=st.integers(0, 100),
    max_teams_changed=st.integers(0, 4),
    cooldown_s=st.sampled_from([0.0, 3600.0]),
)


@settings(max_examples=300, deadline=None)
@given(
    live=states,
    target=states,
    limits=limits,
    capacity=st.integers(0, 16),
    recent=st.dictionaries(st.sampled_from(["team-a", "team-c"]), st.integers(0, 7200)),
)
def test_nothing_applied_ever_breaks_a_guardrail(
    live: dict[str, TeamQuota],
    target: dict[str, TeamQuota],
    limits: GuardrailSettings,
    capacity: int,
    recent: dict[str, int],
) -> None:
    applier = MemoryApplier(live)
    last = {team: NOW - timedelta(seconds=s) for team, s in recent.items()}
    ctx = context(capacity={T: capacity}, last_applied=last)
    desired = [Desired(team, {"q": q}, q) for team, q in target.items()]
    report = run_apply(applier, desired, limits, lambda _: ctx, approve=True)
    if report.outcome is not Outcome.APPLIED:
        assert applier.state == live  # refused or unchanged: nothing was written
        return
    after = applier.state
    changed = [t for t in after if t not in live or after[t] != live[t]]
    assert sum(q.instances(T) for q in after.values()) <= capacity
    assert len(changed) <= limits.max_teams_changed
    for team in changed:
        before = live.get(team, NO_QUOTA)
        assert abs(after[team].instances(T) - before.instances(T)) <= limits.max_instances_change
        assert abs(after[team].borrow_limit_pct - before.borrow_limit_pct) <= (
            limits.max_borrow_limit_change_pct
        )
        assert (
            abs(after[team].fair_share_weight - before.fair_share_weight)
            <= limits.max_weight_change
        )
        assert team not in last or NOW - last[team] >= timedelta(seconds=limits.cooldown_s)
    if "team-a" in changed:
        assert after["team-a"].instances(T) >= 1
    if "team-b" in changed:
        assert after["team-b"].instances(T) <= 5
