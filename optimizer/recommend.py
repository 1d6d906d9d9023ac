"""The recommendation pipeline: 1. demand, 2. model data, 3. solve, 4. candidates, 5. choose.

CP-SAT on the whole history says whether the constraints can be met at all (and names the
conflict when not). The proposal itself is chosen forward: candidates fitted on the history
minus its last days (CP-SAT at several sustained percentiles, simple splits; all guarded, see
``optimizer.candidates``) are replayed on the twin over futures resampled from those last
days, and the one with the best robust score is proposed (``optimizer.robust``). Its effect
is measured on other resampled days than the ones it was chosen on: out of sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import polars as pl

from optimizer.candidates import (
    candidate_policies,
    demand_profile,
    guarded,
    largest_job,
    pinned,
    with_pins,
)
from optimizer.demand import DemandProfile, DemandSource, check_jobs
from optimizer.evaluate.policies import NO_VALUES, team_values, with_values
from optimizer.model.data import ModelData, model_data
from optimizer.model.read import QuotaValues, TeamProposal, proposals
from optimizer.model.solve import SolveReport, solve
from optimizer.origin import estimated_runs, estimated_state, held_at, record_end, run_estimate
from optimizer.resample import DAY_S, Start, futures, split_holdout
from optimizer.robust import Choice, choose
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
        profile: the demand profile of the whole history.
        data: the model's input (whole history).
        report: the solver's status on the whole history; if infeasible, the conflicts.
        proposals: per team, current and proposed values (empty unless solved).
        proposed: the policy with every proposal applied (``None`` unless solved).
        choice: the candidates' scores and the out-of-sample replays (``None`` without
            replays).
        largest_job_acc: the largest job every BorrowLimit lets run, accelerators.
    """

    policy: Policy
    cluster: Cluster
    profile: DemandProfile
    data: ModelData
    report: SolveReport
    proposals: tuple[TeamProposal, ...] = ()
    proposed: Policy | None = None
    choice: Choice | None = None
    largest_job_acc: int = 0


def team_proposals(policy: Policy, proposed: Policy) -> tuple[TeamProposal, ...]:
    """Per team of either policy, in name order: today's values and the proposed ones."""
    today, new = team_values(policy), team_values(proposed)
    return tuple(
        TeamProposal(team, today.get(team, NO_VALUES), new.get(team, NO_VALUES))
        for team in sorted(set(today) | set(new))
    )


def recommend(
    source: DemandSource,
    policy: Policy,
    cluster: Cluster,
    settings: OptimizerSettings,
    *,
    since_s: float | None = None,
    replay: bool = True,
    now_s: float | None = None,
) -> Recommendation:
    """Recommend nominal counts, BorrowLimits and FairShareWeights from recorded demand.

    Args:
        source: where the recorded jobs come from.
        policy: today's policy (the quotas to change).
        cluster: the instances the quotas divide.
        settings: percentiles, bounds, change caps, solver and forward settings.
        since_s: use only jobs submitted at or after this time.
        replay: choose among candidates by replays on resampled futures; without it the
            proposal is CP-SAT's on the whole history (guarded).
        now_s: the instant the record ends at, where the new policy takes over (default: its
            latest submission, start or end); the jobs running and pending then start every
            replay.

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
    profile = demand_profile(history, policy, cluster, settings)
    # 2. Model data (teams without history pinned), 3. solve on the whole history.
    pins = pinned(policy, cluster, set(history["team"]), settings)
    data = model_data(profile, policy, cluster, with_pins(settings, pins))
    report = solve(data, settings.solver)
    largest = largest_job(history, settings)
    solved = Recommendation(policy, cluster, profile, data, report, largest_job_acc=largest)
    if report.solution is None:
        return solved
    if replay:
        # 4. Candidates fitted on the history minus its last days, 5. chosen on those days.
        now = record_end(history) if now_s is None else now_s
        choice, proposed = _choose_forward(history, now, solved, settings, pins)
    else:
        values = {p.team: p.proposed for p in proposals(data, policy, report.solution)}
        choice, proposed = None, _guarded_policy(policy, cluster, values, largest)
    return replace(
        solved, proposals=team_proposals(policy, proposed), proposed=proposed, choice=choice
    )


def _guarded_policy(
    policy: Policy, cluster: Cluster, values: Mapping[str, QuotaValues], largest: int
) -> Policy:
    fair_share = policy.scheduler_config.fair_share == "Enabled"
    safe = guarded(
        values, team_values(policy), cluster=cluster, largest_acc=largest, fair_share=fair_share
    )
    return with_values(policy, safe, name=policy.name, fair_share=fair_share)


def _choose_forward(
    history: pl.DataFrame,
    now_s: float,
    solved: Recommendation,
    settings: OptimizerSettings,
    pins: Mapping[str, Mapping[str, int]],
) -> tuple[Choice, Policy]:
    forward, policy, cluster = settings.forward, solved.policy, solved.cluster
    fit, holdout = split_holdout(history, forward.holdout_days * DAY_S)
    keep = held_at(history, now_s, policy)
    candidates = candidate_policies(
        fit,
        policy,
        cluster,
        settings,
        largest_acc=solved.largest_job_acc,
        pins=pins,
        keep=keep,
        now_s=now_s,
    )
    start = Start(now_s, estimated_state(history, now_s), forward.max_replay_jobs)
    drawn = futures(
        estimated_runs(holdout, run_estimate(history, now_s), now_s),
        start,
        count=forward.futures,
        length_days=forward.future_days,
        largest_acc=solved.largest_job_acc,
        seed=forward.seed,
        screen_jobs=forward.screen_jobs,
    )
    choice = choose(
        candidates, policy, cluster, drawn, finalists=forward.finalists, rule=forward.choice
    )
    by_name = {c.name: c.policy for c in candidates}
    return choice, by_name[choice.chosen]
