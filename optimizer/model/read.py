"""Read a solution back into the API's terms: per team, current and proposed ComputeQuota.

A BorrowLimit or FairShareWeight left unset today stays unset when the solution keeps its
effective value (50 and 0): ``None`` is not the same as a number, so nothing is written that
does not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from optimizer.model.data import ModelData
from optimizer.model.solve import Solution
from taskgov.errors import Fault, InputError
from taskgov.policy.model import (
    ComputeQuota,
    ComputeQuotaConfig,
    ComputeQuotaResource,
    ComputeQuotaTarget,
    Policy,
    ResourceSharingConfig,
)


@dataclass(frozen=True, slots=True)
class QuotaValues:
    """The values the optimizer chooses for one team.

    Attributes:
        nominal: instances per instance type (``ComputeQuotaResources[].Count``).
        borrow_limit_pct: ``ResourceSharingConfig.BorrowLimit``; ``None`` is the API default.
        fair_share_weight: ``ComputeQuotaTarget.FairShareWeight``; ``None`` is unset (0).
    """

    nominal: Mapping[str, int]
    borrow_limit_pct: int | None
    fair_share_weight: int | None


@dataclass(frozen=True, slots=True)
class TeamProposal:
    """Today's values and the proposed ones for one team."""

    team: str
    current: QuotaValues
    proposed: QuotaValues

    @property
    def changed(self) -> bool:
        """Whether anything differs."""
        return self.current != self.proposed


def _current(data: ModelData, policy: Policy, team: str) -> QuotaValues:
    quota = _quota_of(policy, team)
    counts = {
        t: data.cells[(team, t)].current
        for t in data.instance_types
        if data.cells[(team, t)].fixed_acc is None
    }
    if quota is None:
        return QuotaValues(counts, None, None)
    sharing = quota.compute_quota_config.resource_sharing_config
    return QuotaValues(counts, sharing.borrow_limit, quota.compute_quota_target.fair_share_weight)


def _quota_of(policy: Policy, team: str) -> ComputeQuota | None:
    return next(
        (q for q in policy.active_quotas() if q.compute_quota_target.team_name == team), None
    )


def proposals(data: ModelData, policy: Policy, solution: Solution) -> list[TeamProposal]:
    """One proposal per team, in name order; unchanged teams are included."""
    result = []
    for team in data.teams:
        current = _current(data, policy, team.name)
        pct = solution.borrow_pct[team.name]
        weight = solution.weight[team.name]
        proposed = QuotaValues(
            nominal={t: solution.nominal[(team.name, t)] for t in current.nominal},
            borrow_limit_pct=(
                current.borrow_limit_pct
                if pct == team.current_borrow_pct and current.borrow_limit_pct is None
                else pct
            ),
            fair_share_weight=(
                current.fair_share_weight
                if weight == team.current_weight and current.fair_share_weight is None
                else weight
            ),
        )
        result.append(TeamProposal(team.name, current, proposed))
    return result


def _resources(
    quota: ComputeQuota | None, nominal: Mapping[str, int]
) -> list[ComputeQuotaResource]:
    """The entries with new counts: kept in their order, new types appended, zero new ones left
    out."""
    entries = list(quota.compute_quota_config.compute_quota_resources) if quota else []
    listed = {entry.instance_type for entry in entries}
    updated = [
        entry.model_copy(update={"count": nominal[entry.instance_type]})
        if entry.count is not None and entry.instance_type in nominal
        else entry
        for entry in entries
    ]
    updated += [
        ComputeQuotaResource(instance_type=t, count=n)
        for t, n in nominal.items()
        if t not in listed and n > 0
    ]
    return updated


def proposed_quota(policy: Policy, proposal: TeamProposal) -> ComputeQuota:
    """The team's ComputeQuota with the proposed values (a new one if it has none)."""
    quota = _quota_of(policy, proposal.team)
    values = proposal.proposed
    if quota is None:
        config = ComputeQuotaConfig(
            compute_quota_resources=_resources(None, values.nominal),
            resource_sharing_config=ResourceSharingConfig(
                strategy="LendAndBorrow", borrow_limit=values.borrow_limit_pct
            ),
        )
        try:
            target = ComputeQuotaTarget(
                team_name=proposal.team, fair_share_weight=values.fair_share_weight
            )
            return ComputeQuota(
                name=f"{proposal.team}-quota",
                compute_quota_config=config,
                compute_quota_target=target,
            )
        except ValidationError as error:
            message = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
            fault = Fault("recorded jobs", f"team {proposal.team}", "team", message)
            raise InputError([fault]) from None
    config = quota.compute_quota_config
    sharing = config.resource_sharing_config
    if sharing.strategy == "LendAndBorrow":
        sharing = sharing.model_copy(update={"borrow_limit": values.borrow_limit_pct})
    config = config.model_copy(
        update={
            "compute_quota_resources": _resources(quota, values.nominal),
            "resource_sharing_config": sharing,
        }
    )
    target = quota.compute_quota_target.model_copy(
        update={"fair_share_weight": values.fair_share_weight}
    )
    return quota.model_copy(update={"compute_quota_config": config, "compute_quota_target": target})


def proposed_policy(policy: Policy, team_proposals: list[TeamProposal]) -> Policy:
    """The policy with every proposal applied; allocations of other teams stay as they are."""
    by_team = {p.team: p for p in team_proposals}
    quotas = []
    for quota in policy.compute_quotas:
        proposal = by_team.pop(quota.compute_quota_target.team_name, None)
        active = quota.activation_state == "Enabled"
        quotas.append(proposed_quota(policy, proposal) if proposal and active else quota)
    quotas += [
        proposed_quota(policy, p)
        for p in by_team.values()
        if p.changed and any(p.proposed.nominal.values())
    ]
    return policy.model_copy(update={"compute_quotas": quotas})
