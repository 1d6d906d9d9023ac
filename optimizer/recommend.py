"""The recommendation pipeline: 1. demand, 2. model data, 3. solve, 4. read, 5. replay."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from optimizer.demand import DemandProfile, DemandSource, check_jobs, profile_demand
from optimizer.model.data import ModelData, model_data
from optimizer.model.read import TeamProposal, proposals, proposed_policy
from optimizer.model.solve import SolveReport, solve
from optimizer.replay import (
    capacity_accelerators,
    compare,
    nominal_accelerators,
    workloads_from_history,
)
from optimizer.settings import OptimizerSettings
from taskgov.errors import InputError
from taskgov.policy.checks import policy_faults
from taskgov.policy.model import Cluster, Policy

ClusterNumbers = dict[str, float | int | None]


@dataclass(frozen=True)
class Recommendation:
    """Everything one run produced, for the plan and for tests.

    Attributes:
        policy: today's policy.
        cluster: the cluster.
        profile: the demand profile the model read.
        data: the model's input.
        report: the solver's status, phases and, if infeasible, the conflicting constraints.
        proposals: per team, current and proposed values (empty unless solved).
        proposed: the policy with every proposal applied (``None`` unless solved).
        effect: per team, replay metrics ``<metric>_current`` and ``<metric>_proposed``.
        overall: per policy (``current``, ``proposed``), cluster-wide replay numbers.
    """

    policy: Policy
    cluster: Cluster
    profile: DemandProfile
    data: ModelData
    report: SolveReport
    proposals: tuple[TeamProposal, ...] = ()
    proposed: Policy | None = None
    effect: pl.DataFrame | None = None
    overall: dict[str, ClusterNumbers] | None = None


def recommend(
    source: DemandSource,
    policy: Policy,
    cluster: Cluster,
    settings: OptimizerSettings,
    *,
    since_s: float | None = None,
    replay: bool = True,
) -> Recommendation:
    """Recommend nominal counts, BorrowLimits and FairShareWeights from recorded demand.

    Args:
        source: where the recorded jobs come from.
        policy: today's policy (the quotas to change).
        cluster: the instances the quotas divide.
        settings: percentiles, bounds, change caps and solver parameters.
        since_s: use only jobs submitted at or after this time.
        replay: prove the proposal on the twin (current vs proposed).

    Returns:
        The recommendation; ``report.status`` says whether it is optimal, feasible or
        infeasible (then ``report.conflicts`` names the constraints).

    Raises:
        InputError: the policy does not fit the cluster, or the jobs are malformed.
    """
    faults = policy_faults(policy, cluster, f"Policy {policy.name}")
    if faults:
        raise InputError(faults)
    # 1. Demand: the recorded jobs as step functions, per team and instance type.
    history = check_jobs(source.jobs(since_s=since_s), "recorded jobs")
    profile = profile_demand(
        history,
        capacity_acc=capacity_accelerators(cluster),
        nominal_acc=nominal_accelerators(policy),
        percentiles=settings.percentiles(),
        teams=[q.compute_quota_target.team_name for q in policy.active_quotas()],
    )
    # 2. Model data, 3. solve (lexicographic; explains infeasibility).
    data = model_data(profile, policy, cluster, settings)
    report = solve(data, settings.solver)
    if report.solution is None:
        return Recommendation(policy, cluster, profile, data, report)
    # 4. Read the solution back into ComputeQuotas.
    team_proposals = tuple(proposals(data, policy, report.solution))
    proposed = proposed_policy(policy, list(team_proposals))
    if not replay:
        return Recommendation(policy, cluster, profile, data, report, team_proposals, proposed)
    # 5. Replay the recorded demand under both policies on the twin.
    effect, overall = compare(
        workloads_from_history(history),
        {"current": policy, "proposed": proposed},
        cluster,
        percentiles=settings.percentiles(),
    )
    return Recommendation(
        policy, cluster, profile, data, report, team_proposals, proposed, effect, overall
    )
