"""Candidate policies for the recommender: CP-SAT's at several percentiles, and simple splits.

No single percentile or borrowing rule wins on every cluster, so the recommender proposes
several and lets replays on unseen futures choose (``optimizer.robust``). Every candidate
passes the same guards, which no replay is asked to discover:

- a team without history keeps its guarantee today (or the admin's floor for it, which may
  be 0; never above its ceiling): with no jobs to read, nothing says it needs less, and with
  0 instances it could not even borrow;
- BorrowLimit lets the largest plausible job run (``ForwardSettings.largest_job_acc``, by
  default the largest job any team submitted), as far as the instance type's capacity goes:
  a job larger than nominal plus borrowing limit never starts and, under StrictFIFO, blocks
  its team's queue;
- FairShareWeight changes only when FairShare is Enabled (otherwise it does nothing).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from optimizer.demand import DemandProfile, profile_demand
from optimizer.evaluate.policies import largest_remainder, team_values, with_values
from optimizer.model.data import MAX_BORROW_LIMIT_PCT, MAX_FAIR_SHARE_WEIGHT, model_data
from optimizer.model.read import QuotaValues, proposals
from optimizer.model.solve import SolveReport, solve
from optimizer.replay import capacity_accelerators, nominal_accelerators
from optimizer.settings import OptimizerSettings
from taskgov.catalog import instance_catalog
from taskgov.policy.compile import DEFAULT_BORROW_LIMIT_PCT
from taskgov.policy.model import Cluster, Policy

SPLITS = ("equal", "gpu_hours", "peak")
# The splits offered as candidates (each with ``forward.split_borrow_limits``).
CANDIDATE_SPLITS = ("equal", "gpu_hours", "peak")
TODAY_CANDIDATE = "today's quotas"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One policy the recommender may propose, and where it came from."""

    name: str
    policy: Policy
    report: SolveReport | None = None


def shares(workloads: pl.DataFrame, kind: str, teams: list[str]) -> dict[str, dict[str, float]]:
    """Per instance type and team: 1 (``equal``), past accelerator-hours (``gpu_hours``) or
    past peak of accelerators asked for at once (``peak``, each job from its submission for
    its run time)."""
    types = sorted(set(workloads["instance_type"])) if workloads.height else []
    if kind == "equal":
        return {t: dict.fromkeys(teams, 1.0) for t in types}
    if kind == "gpu_hours":
        summed = workloads.group_by("instance_type", "team").agg(
            (pl.col("accelerators") * pl.col("run_s")).sum() / 3600
        )
    else:
        ends = workloads.with_columns(pl.col("submit_s") + pl.col("run_s"), -pl.col("accelerators"))
        summed = (
            pl.concat([workloads, ends])
            .sort("submit_s", "accelerators")
            .with_columns(level=pl.col("accelerators").cum_sum().over("instance_type", "team"))
            .group_by("instance_type", "team")
            .agg(pl.col("level").max())
        )
    result: dict[str, dict[str, float]] = {t: {} for t in types}
    for instance_type, team, value in summed.iter_rows():
        result[instance_type][team] = float(value or 0.0)
    return result


def pinned(
    policy: Policy, cluster: Cluster, teams_with_jobs: set[str], settings: OptimizerSettings
) -> dict[str, dict[str, int]]:
    """Teams without history: the counts they keep: the admin's floor where one is set (it
    may say 0), else today's; never above a ceiling."""
    pins: dict[str, dict[str, int]] = {}
    for team, values in team_values(policy).items():
        if team in teams_with_jobs:
            continue
        pins[team] = {}
        for instance_type in cluster.instance_counts():
            floor = settings.bound(settings.floors, team, instance_type)
            ceiling = settings.bound(settings.ceilings, team, instance_type)
            count = values.nominal.get(instance_type, 0) if floor is None else floor
            pins[team][instance_type] = count if ceiling is None else min(count, ceiling)
    return pins


def borrow_for(nominal: Mapping[str, int], cluster: Cluster, largest_acc: int) -> int:
    """The least BorrowLimit (percent) that lets a job of ``largest_acc`` run on each type the
    team holds, as far as the type's capacity goes (Kueue's borrowingLimit is
    floor(accelerators x nominal x BorrowLimit / 100))."""
    catalog, capacity = instance_catalog(), cluster.instance_counts()
    need_pct = 0
    for instance_type, count in nominal.items():
        if count <= 0 or instance_type not in capacity:
            continue
        acc = catalog[instance_type].accelerator_count
        job = min(largest_acc, acc * capacity[instance_type])
        held = acc * count
        if job > held:
            need_pct = max(need_pct, math.ceil(100 * (job - held) / held))
    return min(need_pct, MAX_BORROW_LIMIT_PCT)


def guarded(
    values: Mapping[str, QuotaValues],
    today: Mapping[str, QuotaValues],
    *,
    cluster: Cluster,
    largest_acc: int,
    fair_share: bool,
) -> dict[str, QuotaValues]:
    """The values with BorrowLimit raised to the largest plausible job and, with FairShare
    Disabled, today's weights (see the module docstring)."""
    result = {}
    for team, value in values.items():
        current = today.get(team)
        pct = value.borrow_limit_pct
        effective = DEFAULT_BORROW_LIMIT_PCT if pct is None else pct
        needed = borrow_for(value.nominal, cluster, largest_acc)
        weight = value.fair_share_weight
        if not fair_share:
            weight = current.fair_share_weight if current else None
        result[team] = QuotaValues(value.nominal, pct if effective >= needed else needed, weight)
    return result


def split_values(
    workloads: pl.DataFrame,
    kind: str,
    teams: list[str],
    cluster: Cluster,
    pins: Mapping[str, Mapping[str, int]],
    keep: Mapping[str, Mapping[str, int]],
) -> dict[str, dict[str, int]]:
    """Each type's capacity split by ``kind`` among ``teams``: pinned teams kept as they are,
    every other team first its ``keep`` (the instances its running jobs fill), the rest by
    share. A team with a share of a type and nothing kept gets at least one instance while
    there are enough (with none it could not even borrow: its jobs there would never run).
    """
    by_type = shares(workloads, kind, teams)
    free = [t for t in teams if t not in pins]
    counts: dict[str, dict[str, int]] = {team: dict(pins.get(team, {})) for team in teams}
    for instance_type, total in cluster.instance_counts().items():
        kept = {t: keep.get(t, {}).get(instance_type, 0) for t in free}
        pinned_count = sum(p.get(instance_type, 0) for p in pins.values())
        left = max(0, total - pinned_count - sum(kept.values()))
        type_shares = by_type.get(instance_type, dict.fromkeys(free, 1.0))
        wanted = {t: type_shares.get(t, 0.0) for t in free}
        holding = [t for t in free if wanted[t] > 0 and not kept[t]]
        one = 1 if len(holding) <= left else 0
        split_type = largest_remainder(wanted, left - one * len(holding))
        for team, count in split_type.items():
            counts[team][instance_type] = count + kept[team] + (one if team in holding else 0)
    return counts


def weights_by_share(counts: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """FairShareWeight in proportion to instances held, the largest holder at 100, at least 1."""
    held = {team: sum(c.values()) for team, c in counts.items()}
    top = max(held.values(), default=0) or 1
    return {team: max(1, round(MAX_FAIR_SHARE_WEIGHT * n / top)) for team, n in held.items()}


def demand_profile(
    recorded: pl.DataFrame, policy: Policy, cluster: Cluster, settings: OptimizerSettings
) -> DemandProfile:
    """The demand profile the model reads: every active team of ``policy``, even one
    without jobs, at the settings' percentiles."""
    return profile_demand(
        recorded,
        capacity_acc=capacity_accelerators(cluster),
        nominal_acc=nominal_accelerators(policy),
        percentiles=settings.percentiles(),
        teams=[q.compute_quota_target.team_name for q in policy.active_quotas()],
    )


def solver_candidate(
    recorded: pl.DataFrame,
    policy: Policy,
    cluster: Cluster,
    settings: OptimizerSettings,
) -> tuple[dict[str, QuotaValues], SolveReport]:
    """CP-SAT's values (empty when it found no solution) and its report."""
    data = model_data(
        demand_profile(recorded, policy, cluster, settings), policy, cluster, settings
    )
    report = solve(data, settings.solver)
    if report.solution is None:
        return {}, report
    return {p.team: p.proposed for p in proposals(data, policy, report.solution)}, report


def with_pins(
    settings: OptimizerSettings, pins: Mapping[str, Mapping[str, int]]
) -> OptimizerSettings:
    """Settings whose floors and ceilings hold the pinned teams at their counts."""
    floors = {team: dict(v) for team, v in settings.floors.items()}
    ceilings = {team: dict(v) for team, v in settings.ceilings.items()}
    for team, counts in pins.items():
        floors[team] = dict(counts)
        ceilings[team] = dict(counts)
    return settings.model_copy(update={"floors": floors, "ceilings": ceilings})


def largest_job(recorded: pl.DataFrame, settings: OptimizerSettings) -> int:
    """The largest job any team may plausibly submit: the setting, else the largest seen."""
    if settings.forward.largest_job_acc is not None:
        return settings.forward.largest_job_acc
    return int(recorded["accelerators"].max() or 0) if recorded.height else 0  # type: ignore[arg-type]


Raw = list[tuple[str, dict[str, QuotaValues], SolveReport | None]]


def kept_candidate(
    recorded: pl.DataFrame,
    policy: Policy,
    cluster: Cluster,
    settings: OptimizerSettings,
    keep: Mapping[str, Mapping[str, int]],
) -> Raw:
    """CP-SAT's at the first sustained percentile with BorrowLimit 10000, every team keeping
    at least ``keep`` (none without anything to keep)."""
    if not keep:
        return []
    floors = {team: dict(v) for team, v in settings.floors.items()}
    for team, counts in keep.items():
        for instance_type, count in counts.items():
            floor = settings.bound(settings.floors, team, instance_type)
            floors.setdefault(team, {})[instance_type] = max(count, floor or 0)
    pct = min(settings.forward.sustained_percentiles)
    variant = settings.model_copy(update={"floors": floors, "sustained_percentile": pct})
    values, report = solver_candidate(recorded, policy, cluster, variant)
    unlimited = {
        t: QuotaValues(v.nominal, MAX_BORROW_LIMIT_PCT, v.fair_share_weight)
        for t, v in values.items()
    }
    return (
        [(f"cp-sat p{pct:g} keeping running jobs borrow 10000", unlimited, report)]
        if values
        else []
    )


def solver_candidates(
    recorded: pl.DataFrame, policy: Policy, cluster: Cluster, settings: OptimizerSettings
) -> Raw:
    """CP-SAT's per sustained percentile with BorrowLimit 10000 and, at the settings'
    percentile, with its own BorrowLimits (``settings`` hold the pinned teams)."""
    raw: Raw = []
    for pct in sorted(set(settings.forward.sustained_percentiles)):
        peak = max(pct, settings.peak_percentile)
        variant = settings.model_copy(update={"sustained_percentile": pct, "peak_percentile": peak})
        values, report = solver_candidate(recorded, policy, cluster, variant)
        if values:
            # BorrowLimit 10000 first: on futures that tell nothing apart, the earlier wins,
            # and borrowing idle capacity costs nothing while no owner reclaims it.
            unlimited = {
                t: QuotaValues(v.nominal, MAX_BORROW_LIMIT_PCT, v.fair_share_weight)
                for t, v in values.items()
            }
            raw.append((f"cp-sat p{pct:g} borrow 10000", unlimited, report))
            if pct == settings.sustained_percentile:
                raw.append((f"cp-sat p{pct:g}", values, report))
    return raw


def observed_runs(recorded: pl.DataFrame, now_s: float) -> pl.DataFrame:
    """Jobs with their run as far as the record shows it: ``run_s``, else end - start, else
    (still running) ``now_s`` - start; jobs never started are left out."""
    run = pl.coalesce(
        pl.col("run_s"), pl.col("end_s") - pl.col("start_s"), pl.lit(now_s) - pl.col("start_s")
    )
    with_run = recorded if "run_s" in recorded.columns else recorded.with_columns(run_s=None)
    return with_run.with_columns(run_s=run.cast(pl.Float64)).filter(pl.col("run_s").is_not_null())


def split_candidates(
    workloads: pl.DataFrame,
    teams: list[str],
    cluster: Cluster,
    pins: Mapping[str, Mapping[str, int]],
    keep: Mapping[str, Mapping[str, int]],
    limits: tuple[int, ...],
) -> Raw:
    """The equal, GPU-hours and peak splits (each team first keeping ``keep``), each with
    every BorrowLimit of ``limits``, weights by share."""
    raw: Raw = []
    for kind in CANDIDATE_SPLITS:
        counts = split_values(workloads, kind, teams, cluster, pins, keep)
        weights = weights_by_share(counts)
        for limit in limits:
            values = {t: QuotaValues(counts[t], limit, weights[t]) for t in teams}
            raw.append((f"{kind} split borrow {limit}", values, None))
    return raw


def candidate_policies(
    recorded: pl.DataFrame,
    policy: Policy,
    cluster: Cluster,
    settings: OptimizerSettings,
    *,
    largest_acc: int,
    pins: Mapping[str, Mapping[str, int]],
    keep: Mapping[str, Mapping[str, int]],
    now_s: float,
) -> list[Candidate]:
    """Every distinct candidate, guarded: :func:`solver_candidates`, then
    :func:`split_candidates`, then (``forward.today_candidate``) today's quotas; one that
    guards to the same values as an earlier one is left out (it would replay the same).

    Args:
        recorded: the jobs the candidates are fitted on (:data:`optimizer.demand.JOB_COLUMNS`,
            optionally ``run_s``).
        policy: today's policy.
        cluster: the cluster.
        settings: the optimizer's settings.
        largest_acc: the largest job every BorrowLimit must let run.
        pins: teams without history and the counts they keep (:func:`pinned`).
        keep: per team, the instances its running jobs fill (``optimizer.origin.held_at``).
        now_s: the instant the record ends at (a running job has run until then).
    """
    today = team_values(policy)
    teams = sorted(set(today) | set(recorded["team"]))
    fair_share = policy.scheduler_config.fair_share == "Enabled"
    pinned_settings = with_pins(settings, pins)
    raw = solver_candidates(recorded, policy, cluster, pinned_settings)
    raw += kept_candidate(recorded, policy, cluster, pinned_settings, keep)
    limits = settings.forward.split_borrow_limits
    raw += split_candidates(observed_runs(recorded, now_s), teams, cluster, pins, keep, limits)
    if settings.forward.today_candidate:
        raw.append((TODAY_CANDIDATE, dict(today), None))
    candidates: list[Candidate] = []
    seen: list[dict[str, QuotaValues]] = []
    for name, values, report in raw:
        safe = guarded(
            values, today, cluster=cluster, largest_acc=largest_acc, fair_share=fair_share
        )
        if safe in seen:
            continue
        seen.append(safe)
        proposed = with_values(policy, safe, name=policy.name, fair_share=fair_share)
        candidates.append(Candidate(name, proposed, report))
    return candidates
