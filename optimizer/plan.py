"""A recommendation as a plan people read and programs apply.

Per team: current -> proposed, why, the expected effect (from the twin replay), and the call
that makes the change: ``aws sagemaker update-compute-quota`` (``create-compute-quota`` for a
team without an allocation), or, on a plain Kueue cluster, a JSON merge patch of the team's
ClusterQueue (a merge patch replaces lists, so it carries every resource group).
``<ID:name>``, ``<VERSION:name>`` and ``<CLUSTER-ARN>`` are placeholders:
``aws sagemaker describe-compute-quota`` gives an allocation's id and version.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping

from pydantic import BaseModel, ConfigDict

from optimizer.evaluate.metrics import JUDGED
from optimizer.model.data import (
    MAX_BORROW_LIMIT_PCT,
    Cell,
    ModelData,
    reach_acc,
    runnable_acc,
)
from optimizer.model.read import QuotaValues, TeamProposal
from optimizer.recommend import Recommendation
from optimizer.settings import OptimizerSettings
from taskgov.catalog import instance_catalog
from taskgov.policy.compile import cluster_queue_name, compile_policy
from taskgov.policy.model import ComputeQuota, ComputeQuotaResource

# A team waits longer when its p95 wait grows by more than this.
WORSE_BY_S = 60.0
OVERALL_METRICS = (*JUDGED, "wait_p50_s", "wait_p99_s", "never_started", "utilization")


class _Shape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QuotaView(_Shape):
    """One side of a change."""

    nominal: dict[str, int]
    borrow_limit_pct: int | None
    fair_share_weight: int | None


class TeamPlan(_Shape):
    """What changes for one team, why, what it does, and how to apply it."""

    team: str
    changed: bool
    current: QuotaView
    proposed: QuotaView
    why: list[str]
    effect: dict[str, tuple[float | None, float | None]]
    aws_cli: str | None
    kueue_patch: str | None


class PhaseView(_Shape):
    """One lexicographic solver phase."""

    objective: str
    description: str
    status: str
    value: int | None
    bound: float | None
    gap: float | None
    wall_s: float


class ConflictView(_Shape):
    """A named constraint of a conflicting set."""

    constraint: str
    detail: str


class Plan(_Shape):
    """The whole recommendation.

    ``overall`` holds, per policy (``current``, ``proposed``), the mean of each judged
    number over the out-of-sample futures and its range (``<metric>_min``, ``<metric>_max``);
    ``evidence`` says where those numbers come from; ``warnings`` every team that waits
    longer and every wait the proposal leaves above the threshold.
    """

    status: str
    phases: list[PhaseView]
    solver_parameters: str
    conflicts: list[ConflictView]
    window_s: tuple[float, float]
    overall: dict[str, dict[str, float | int | None]]
    teams: list[TeamPlan]
    evidence: str = ""
    warnings: list[str] = []
    candidates: dict[str, float] = {}
    chosen: str | None = None


def _view(values: QuotaValues) -> QuotaView:
    return QuotaView(
        nominal=dict(values.nominal),
        borrow_limit_pct=values.borrow_limit_pct,
        fair_share_weight=values.fair_share_weight,
    )


def _unit(instance_type: str) -> str:
    resource = instance_catalog()[instance_type].accelerator_resource
    return "GPUs" if resource == "nvidia.com/gpu" else "accelerators"


def _why_nominal(cell: Cell, new: int, acc: int, settings: OptimizerSettings) -> str | None:
    sustained, peak = f"p{settings.sustained_percentile:g}", f"p{settings.peak_percentile:g}"
    unit, t = _unit(cell.instance_type), cell.instance_type
    change = f"nominal {cell.current} -> {new} instances"
    if new > cell.current and cell.sustained_acc > cell.current * acc:
        return (
            f"{t}: {sustained} demand {cell.sustained_acc} {unit} exceeds the "
            f"{cell.current * acc} guaranteed; {change}"
        )
    if new > cell.current and cell.current == 0 and cell.largest_acc > 0:
        return (
            f"{t}: with no nominal quota it may borrow nothing, so its largest job "
            f"({cell.largest_acc} {unit}) would never run; {change}"
        )
    if new > cell.current:
        return f"{t}: so that its {peak} demand ({cell.peak_acc} {unit}) can run; {change}"
    if new < cell.current:
        needed = math.ceil(cell.sustained_acc / acc)
        return (
            f"{t}: {sustained} demand {cell.sustained_acc} {unit} needs {needed} of its "
            f"{cell.current} instances; lends {cell.current - new} to teams short of quota"
        )
    return None


def _borrow_needs(
    data: ModelData, team: str, nominal: Mapping[tuple[str, str], int], peak: str
) -> list[str]:
    """What the team must borrow on each type: for its largest job, or for its peak (or the
    most recorded) demand as far as idle capacity reaches."""
    needs = []
    for t in data.instance_types:
        cell, acc, count = data.cells[(team, t)], data.accelerators[t], data.capacity[t]
        total = sum(c.sustained_acc for c in data.cells.values() if c.instance_type == t)
        held = acc * nominal[(team, t)]
        for_peak = reach_acc(cell, acc, count, total) - held
        for_top = reach_acc(cell, acc, count, total, top=True) - held
        for_job = runnable_acc(cell, acc, count) - held
        unit = _unit(t)
        if for_job > 0 and for_job >= for_top:
            needs.append(f"{for_job} {unit} of {t} to run its largest job ({cell.largest_acc})")
        elif for_top > for_peak:
            needs.append(
                f"{for_top} {unit} of {t} to reach the most demand recorded "
                f"({cell.top_acc} {unit}) beside idle ones"
            )
        elif for_peak > 0:
            needs.append(f"{for_peak} {unit} of {t} to reach {peak} demand beside idle ones")
    return needs


def _why(
    proposal: TeamProposal, data: ModelData, rec: Recommendation, settings: OptimizerSettings
) -> list[str]:
    team = next((t for t in data.teams if t.name == proposal.team), None)
    reasons = []
    for instance_type, new in proposal.proposed.nominal.items():
        cell = data.cells.get((proposal.team, instance_type))
        reason = cell and _why_nominal(cell, new, data.accelerators[instance_type], settings)
        if reason:
            reasons.append(reason)
    if team is None:
        return reasons or ["today's quota fits its demand"]
    if (
        proposal.current.nominal
        and not rec.profile.by_team.filter(
            (rec.profile.by_team["team"] == team.name) & (rec.profile.by_team["jobs"] > 0)
        ).height
    ):
        reasons.append("no recorded jobs: keeps its guarantee")
    pct = proposal.proposed.borrow_limit_pct
    pct = team.current_borrow_pct if pct is None else pct
    if pct != team.current_borrow_pct:
        peak = f"p{settings.peak_percentile:g}"
        needs = _borrow_needs(data, team.name, _nominal(data, proposal), peak)
        change = f"BorrowLimit {team.current_borrow_pct}% -> {pct}%"
        if pct == MAX_BORROW_LIMIT_PCT:
            reasons.append(
                f"{change}: it may borrow any idle capacity (its owners reclaim it when they "
                "need it)" + ("; it needs " + "; ".join(needs) if needs else "")
            )
        else:
            needs = needs or [
                f"for a job of {rec.largest_job_acc} accelerators, the largest plausible"
            ]
            reasons.append(f"{change}: it must borrow " + "; ".join(needs))
    weight = proposal.proposed.fair_share_weight or 0
    if weight != team.current_weight:
        split = rec.choice is not None and not rec.choice.chosen.startswith("cp-sat")
        basis = (
            "instances held, the largest holder at 100"
            if split
            else "burst demand (peak minus sustained), the burstiest team at 100"
        )
        reasons.append(
            f"FairShareWeight {team.current_weight} -> {weight}: idle capacity is shared in "
            f"proportion to {basis}"
        )
    if not reasons:
        reasons.append("today's quota fits its demand")
    return reasons


def _nominal(data: ModelData, proposal: TeamProposal) -> dict[tuple[str, str], int]:
    """Proposed counts keyed as the model keys them, every team's type (others' at 0)."""
    counts = {key: 0 for key in data.cells}
    for instance_type, count in proposal.proposed.nominal.items():
        counts[(proposal.team, instance_type)] = count
    return counts


def _entry(entry: ComputeQuotaResource) -> str:
    fields = [f"InstanceType={entry.instance_type}"]
    for name, value in (
        ("Count", entry.count),
        ("Accelerators", entry.accelerators),
        ("VCpu", entry.vcpu),
        ("MemoryInGiB", entry.memory_gib),
    ):
        if value is not None:
            fields.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
    return "{" + ",".join(fields) + "}"


def shorthand(quota: ComputeQuota) -> tuple[str, str]:
    """``--compute-quota-config`` and ``--compute-quota-target`` in AWS CLI shorthand."""
    config = quota.compute_quota_config
    sharing = config.resource_sharing_config
    parts = [f"Strategy={sharing.strategy}"]
    if sharing.borrow_limit is not None:
        parts.append(f"BorrowLimit={sharing.borrow_limit}")
    if sharing.absolute_borrow_limits:
        limits = ",".join(_entry(e) for e in sharing.absolute_borrow_limits)
        parts.append(f"AbsoluteBorrowLimits=[{limits}]")
    resources = ",".join(_entry(e) for e in config.compute_quota_resources)
    config_text = (
        f"ComputeQuotaResources=[{resources}],ResourceSharingConfig={{{','.join(parts)}}},"
        f"PreemptTeamTasks={config.preempt_team_tasks}"
    )
    target = quota.compute_quota_target
    target_text = f"TeamName={target.team_name}"
    if target.fair_share_weight is not None:
        target_text += f",FairShareWeight={target.fair_share_weight}"
    return config_text, target_text


def aws_command(quota: ComputeQuota, *, new: bool) -> str:
    """The ``aws sagemaker`` call that makes ``quota`` so."""
    config, target = shorthand(quota)
    if new:
        return (
            f"aws sagemaker create-compute-quota --name {quota.name} --cluster-arn <CLUSTER-ARN> "
            f'--compute-quota-config "{config}" --compute-quota-target "{target}" '
            "--activation-state Enabled"
        )
    return (
        f"aws sagemaker update-compute-quota --compute-quota-id <ID:{quota.name}> "
        f'--target-version <VERSION:{quota.name}> --compute-quota-config "{config}" '
        f'--compute-quota-target "{target}"'
    )


def _patches(rec: Recommendation) -> dict[str, str]:
    """``kubectl patch`` of each team's ClusterQueue under the proposed policy."""
    assert rec.proposed is not None
    patches = {}
    for obj in compile_policy(rec.proposed, rec.cluster, f"Policy {rec.proposed.name}"):
        if obj["kind"] != "ClusterQueue":
            continue
        spec = {"resourceGroups": obj["spec"]["resourceGroups"]}
        if "fairSharing" in obj["spec"]:
            spec["fairSharing"] = obj["spec"]["fairSharing"]
        body = json.dumps({"spec": spec}, separators=(",", ":"))
        name = obj["metadata"]["name"]
        patches[name] = f"kubectl patch clusterqueue {name} --type merge -p '{body}'"
    return patches


def _effect(rec: Recommendation, team: str) -> dict[str, tuple[float | None, float | None]]:
    """The team's mean p95 wait over the out-of-sample futures, today and proposed."""
    if rec.choice is None or not rec.choice.today:
        return {}
    today = [m.team_wait_p95_s.get(team) for m in rec.choice.today]
    proposed = [m.team_wait_p95_s.get(team) for m in rec.choice.proposed]
    return {"wait_p95_s": (_mean(today), _mean(proposed))}


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _overall(rec: Recommendation) -> dict[str, dict[str, float | int | None]]:
    """Per policy: each judged number's mean, least and most over the report futures."""
    if rec.choice is None or not rec.choice.today:
        return {}
    overall: dict[str, dict[str, float | int | None]] = {}
    for name, runs in (("current", rec.choice.today), ("proposed", rec.choice.proposed)):
        numbers: dict[str, float | int | None] = {}
        for metric in OVERALL_METRICS:
            values = [float(getattr(m, metric)) for m in runs]
            numbers[metric] = sum(values) / len(values)
            numbers[f"{metric}_min"] = min(values)
            numbers[f"{metric}_max"] = max(values)
        overall[name] = numbers
    return overall


def _evidence(rec: Recommendation, settings: OptimizerSettings) -> str:
    if rec.choice is None:
        return "not replayed: no effect measured"
    forward = settings.forward
    if not rec.choice.today:
        return "too little history to replay: no effect measured"
    count = len(rec.choice.today)
    over = "one replay of a" if count == 1 else f"{count} replays of"
    futures = "future" if count == 1 else "futures"
    return (
        f"out of sample: the candidates were fitted on the history minus its last "
        f"{forward.holdout_days:g} days and chosen by replays of those days (as they were and "
        f"under twice the load); the effect is the mean (range) over {over} "
        f"{forward.future_days}-day {futures} resampled by day from them, each with "
        f"one job per team of {rec.largest_job_acc} accelerators: days the solver did not see"
    )


def warnings(
    plan_overall: Mapping[str, Mapping[str, float | int | None]],
    teams: list[TeamPlan],
    settings: OptimizerSettings,
) -> list[str]:
    """Every team whose p95 wait grows (by more than a minute), and a p95 wait the proposal
    leaves above the threshold."""
    found = []
    for team in teams:
        before, after = team.effect.get("wait_p95_s", (None, None))
        if before is not None and after is not None and after > before + WORSE_BY_S:
            found.append(
                f"team {team.team} waits longer: p95 {human_hours(before)} -> {human_hours(after)}"
            )
    proposed = plan_overall.get("proposed", {})
    limit_s = settings.forward.wait_warning_h * 3600
    wait = proposed.get("wait_p95_s")
    if isinstance(wait, float | int) and wait > limit_s:
        found.append(
            f"the proposal still leaves a p95 wait of {human_hours(wait)} "
            f"(above {human_hours(limit_s)}): the cluster is short of capacity"
        )
    return found


def build_plan(rec: Recommendation, settings: OptimizerSettings) -> Plan:
    """The plan of a recommendation (with only status and conflicts when infeasible)."""
    report = rec.report
    phases = [
        PhaseView(
            objective=p.objective,
            description=p.description,
            status=p.status,
            value=p.value,
            bound=p.bound,
            gap=p.gap,
            wall_s=round(p.wall_s, 3),
        )
        for p in report.phases
    ]
    conflicts = [ConflictView(constraint=c.constraint, detail=c.detail) for c in report.conflicts]
    teams = []
    if rec.proposed is not None:
        patches = _patches(rec)
        quotas = {q.compute_quota_target.team_name: q for q in rec.proposed.active_quotas()}
        existing = {q.compute_quota_target.team_name for q in rec.policy.active_quotas()}
        for proposal in rec.proposals:
            quota = quotas.get(proposal.team)
            apply = proposal.changed and quota is not None
            new = proposal.team not in existing
            teams.append(
                TeamPlan(
                    team=proposal.team,
                    changed=proposal.changed,
                    current=_view(proposal.current),
                    proposed=_view(proposal.proposed),
                    why=_why(proposal, rec.data, rec, settings),
                    effect=_effect(rec, proposal.team),
                    aws_cli=aws_command(quota, new=new) if apply and quota else None,
                    kueue_patch=patches.get(cluster_queue_name(proposal.team))
                    if apply and not new
                    else None,
                )
            )
    window = rec.profile.window
    overall = _overall(rec)
    return Plan(
        status=report.status,
        phases=phases,
        solver_parameters=report.parameters,
        conflicts=conflicts,
        window_s=(window.start_s, window.end_s),
        overall=overall,
        teams=teams,
        evidence=_evidence(rec, settings),
        warnings=warnings(overall, teams, settings),
        candidates=dict(rec.choice.scores) if rec.choice else {},
        chosen=rec.choice.chosen if rec.choice else None,
    )


def _arrow(before: object, after: object) -> str:
    """``after``, or ``before -> after``; a value not set shows as ``-``, never ``None``."""
    old, new = ("-" if v is None else str(v) for v in (before, after))
    return new if before == after else f"{old} -> {new}"


def human_hours(seconds: float | None) -> str:
    """Seconds as hours or minutes people read: ``12.5 h``, ``45 min``, ``0.0 h`` (under a
    minute)."""
    if seconds is None:
        return "-"
    if 60 <= seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:,.1f} h"


def overall_lines(plan: Plan) -> list[str]:
    """The effect in human units, where it comes from, and the warnings."""
    lines = []
    if plan.evidence:
        lines.append(f"effect ({plan.evidence}):")
    labels = {"wait_p95_s": "p95 wait", "starved_team_h": "starved", "preempted_gpu_h": "preempted"}
    for name, numbers in plan.overall.items():
        shown = []
        for metric, label in labels.items():
            value = numbers.get(metric)
            if value is None:
                continue
            low, high = numbers.get(f"{metric}_min"), numbers.get(f"{metric}_max")
            unit = _unit_text(metric)
            shown.append(f"{label} {unit(value)} ({unit(low)} to {unit(high)})")
        lines.append(f"  {name}: " + ", ".join(shown))
    lines += [f"warning: {w}" for w in plan.warnings]
    return lines


def _unit_text(metric: str) -> Callable[[float | int | None], str]:
    if metric.endswith("_s"):
        return human_hours
    suffix = " team-h" if metric == "starved_team_h" else " GPU-h"
    return lambda v: "-" if v is None else f"{v:,.1f}{suffix}"


_hours = human_hours


def plan_rows(plan: Plan) -> list[dict[str, str]]:
    """One table row per team: the changes, the expected p95 wait and starvation, why."""
    rows = []
    for team in plan.teams:
        nominal = ", ".join(
            f"{t} {_arrow(team.current.nominal.get(t, 0), n)}"
            for t, n in team.proposed.nominal.items()
            if n or team.current.nominal.get(t, 0)
        )
        wait = team.effect.get("wait_p95_s", (None, None))
        rows.append(
            {
                "team": team.team,
                "nominal": nominal or "0",
                "borrow limit %": _arrow(
                    team.current.borrow_limit_pct, team.proposed.borrow_limit_pct
                ),
                "weight": _arrow(team.current.fair_share_weight, team.proposed.fair_share_weight),
                "wait p95": _arrow(_hours(wait[0]), _hours(wait[1])),
                "why": "; ".join(team.why),
            }
        )
    return rows


PLAN_COLUMNS = ["team", "nominal", "borrow limit %", "weight", "wait p95", "why"]
