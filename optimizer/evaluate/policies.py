"""Policies built from per-team values: splits of the cluster, scaled clusters, toggles.

Every policy the forward evaluation compares (today's, the simple splits, the candidates the
recommender weighs) is today's policy with some teams' counts, BorrowLimit and
FairShareWeight replaced, written through the same :func:`optimizer.model.read.proposed_policy`
the recommendation uses, so a baseline and a recommendation differ only in their numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from optimizer.model.read import QuotaValues, TeamProposal, proposed_policy
from taskgov.policy.model import Cluster, InstanceGroup, Policy

# Per team: instances per instance type.
Counts = dict[str, dict[str, int]]
NO_VALUES = QuotaValues({}, None, None)


def team_values(policy: Policy) -> dict[str, QuotaValues]:
    """Each active team's whole-instance counts, BorrowLimit and FairShareWeight today."""
    values = {}
    for quota in policy.active_quotas():
        counts = {
            entry.instance_type: entry.count
            for entry in quota.compute_quota_config.compute_quota_resources
            if entry.count is not None
        }
        values[quota.compute_quota_target.team_name] = QuotaValues(
            counts,
            quota.compute_quota_config.resource_sharing_config.borrow_limit,
            quota.compute_quota_target.fair_share_weight,
        )
    return values


def with_values(
    policy: Policy, values: Mapping[str, QuotaValues], *, name: str, fair_share: bool
) -> Policy:
    """Today's policy with ``values`` for the named teams and FairShare switched on or off.

    A team without a ComputeQuota today gets a new one when it has any instance.
    """
    current = team_values(policy)
    proposals = [
        TeamProposal(team, current.get(team, NO_VALUES), proposed)
        for team, proposed in sorted(values.items())
    ]
    changed = proposed_policy(policy, proposals)
    config = changed.scheduler_config.model_copy(
        update={"fair_share": "Enabled" if fair_share else "Disabled"}
    )
    return changed.model_copy(update={"name": name, "scheduler_config": config})


def largest_remainder(shares: Mapping[str, float], total: int) -> dict[str, int]:
    """Whole numbers in proportion to ``shares`` summing to ``total`` (ties by name).

    All-zero shares split equally.
    """
    if not shares:
        return {}
    weight = sum(shares.values())
    if weight <= 0:
        shares, weight = dict.fromkeys(shares, 1.0), float(len(shares))
    exact = {team: total * share / weight for team, share in shares.items()}
    counts = {team: math.floor(value) for team, value in exact.items()}
    left = total - sum(counts.values())
    for team in sorted(exact, key=lambda t: (counts[t] - exact[t], t))[:left]:
        counts[team] += 1
    return counts


def split(
    shares: Mapping[str, Mapping[str, float]], capacity: Mapping[str, int], teams: list[str]
) -> Counts:
    """Each instance type's capacity split among ``teams`` in proportion to their shares of it.

    ``shares[type][team]``; a type nobody has a share of is split equally.
    """
    counts: Counts = {team: {} for team in teams}
    for instance_type, total in capacity.items():
        by_team = shares.get(instance_type, {})
        split_type = largest_remainder({t: by_team.get(t, 0.0) for t in teams}, total)
        for team, count in split_type.items():
            counts[team][instance_type] = count
    return counts


def scaled_cluster(cluster: Cluster, fraction: float) -> Cluster:
    """The cluster with ``fraction`` of each type's instances (at least one each)."""
    groups = [
        InstanceGroup(instance_type=t, instance_count=max(1, round(n * fraction)))
        for t, n in cluster.instance_counts().items()
    ]
    return cluster.model_copy(update={"instance_groups": groups})


def scaled_policy(policy: Policy, cluster: Cluster, scaled: Cluster) -> Policy:
    """Today's counts shrunk with the cluster, in proportion per type (largest remainder).

    What an admin whose cluster shrank would keep: each team's share of the type, and the
    unallocated share too.
    """
    values = team_values(policy)
    before, after = cluster.instance_counts(), scaled.instance_counts()
    new_counts: Counts = {team: dict(v.nominal) for team, v in values.items()}
    for instance_type, count in before.items():
        held = {team: float(v.nominal.get(instance_type, 0)) for team, v in values.items()}
        total = round(sum(held.values()) * after[instance_type] / max(1, count))
        for team, n in largest_remainder(held, min(total, after[instance_type])).items():
            if instance_type in values[team].nominal or n:
                new_counts[team][instance_type] = n
    proposed = {
        team: QuotaValues(new_counts[team], v.borrow_limit_pct, v.fair_share_weight)
        for team, v in values.items()
    }
    fair_share = policy.scheduler_config.fair_share == "Enabled"
    return with_values(policy, proposed, name=policy.name, fair_share=fair_share)
