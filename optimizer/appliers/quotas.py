"""A policy as per-team numbers the guardrails reason about, and the teams two policies differ in.

Both appliers read the live state into a :class:`Policy` (SageMaker returns it in its own
shapes; Kueue's ClusterQueues are read back through the compilation's inverse), so the
guardrails and the audit speak one language whatever the backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from taskgov.policy.compile import DEFAULT_BORROW_LIMIT_PCT
from taskgov.policy.model import ComputeQuota, Policy


@dataclass(frozen=True, slots=True)
class TeamQuota:
    """One team's guarantee and sharing rules, in the units an admin changes them in.

    Attributes:
        nominal: whole instances per instance type (``ComputeQuotaResources[].Count``).
        borrow_limit_pct: the effective BorrowLimit (the API's default 50 when unset; 0 when
            the strategy does not borrow).
        fair_share_weight: the effective FairShareWeight (0 when unset).
    """

    nominal: Mapping[str, int]
    borrow_limit_pct: int
    fair_share_weight: int

    def instances(self, instance_type: str) -> int:
        """Instances of ``instance_type`` guaranteed (0 when the team has none)."""
        return int(self.nominal.get(instance_type, 0))

    def points(self) -> dict[str, int]:
        """The values set in points (percent, weight), by their API names."""
        return {"BorrowLimit": self.borrow_limit_pct, "FairShareWeight": self.fair_share_weight}


NO_QUOTA = TeamQuota(nominal={}, borrow_limit_pct=0, fair_share_weight=0)


def team_quota(quota: ComputeQuota) -> TeamQuota:
    """The effective numbers of one allocation (a disabled one guarantees nothing)."""
    if quota.activation_state != "Enabled":
        return NO_QUOTA
    config = quota.compute_quota_config
    nominal: dict[str, int] = {}
    for resource in config.compute_quota_resources:
        nominal[resource.instance_type] = nominal.get(resource.instance_type, 0) + (
            resource.count or 0
        )
    sharing = config.resource_sharing_config
    borrow = (
        0
        if sharing.strategy != "LendAndBorrow"
        else (DEFAULT_BORROW_LIMIT_PCT if sharing.borrow_limit is None else sharing.borrow_limit)
    )
    weight = quota.compute_quota_target.fair_share_weight or 0
    return TeamQuota(nominal=nominal, borrow_limit_pct=borrow, fair_share_weight=weight)


def team_quotas(policy: Policy) -> dict[str, TeamQuota]:
    """Every team of ``policy`` with its effective numbers."""
    return {q.compute_quota_target.team_name: team_quota(q) for q in policy.compute_quotas}


def quota_of(policy: Policy, team: str) -> ComputeQuota | None:
    """The allocation of ``team`` in ``policy``, if it has one."""
    for quota in policy.compute_quotas:
        if quota.compute_quota_target.team_name == team:
            return quota
    return None


def changed_teams(before: Policy, after: Policy, teams: Iterable[str] | None = None) -> list[str]:
    """Teams whose allocation differs between the two policies, in a stable order."""
    names = sorted(
        {q.compute_quota_target.team_name for q in [*before.compute_quotas, *after.compute_quotas]}
        if teams is None
        else set(teams)
    )
    return [t for t in names if _comparable(quota_of(before, t)) != _comparable(quota_of(after, t))]


def _comparable(quota: ComputeQuota | None) -> object:
    """What an allocation sets, without the name and description that do not govern."""
    if quota is None:
        return None
    return (
        quota.compute_quota_config.model_dump(mode="json", exclude_none=True),
        quota.compute_quota_target.model_dump(mode="json", exclude_none=True),
        quota.activation_state,
    )


def scheduler_changed(before: Policy, after: Policy) -> bool:
    """Whether the cluster's scheduler config differs."""
    return before.scheduler_config != after.scheduler_config
