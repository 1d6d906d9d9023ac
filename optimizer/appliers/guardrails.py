"""The checks every change passes before it reaches a governance API.

Each guardrail is named, pure (live state, target, history and clock in; refusals out) and
checked again after a conflict against the state re-read, so what is applied never breaks one,
whoever else edits the cluster meanwhile. A refusal stops the whole apply: nothing is applied
half-way because one team's change was refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from optimizer.appliers.quotas import NO_QUOTA, TeamQuota
from optimizer.settings import ANY_TYPE

Instances = Annotated[int, Field(ge=0)]


class Guardrail(StrEnum):
    """The named checks; each refusal carries one."""

    CAPACITY = "capacity"
    FLOOR = "floor"
    CEILING = "ceiling"
    MAX_INSTANCES_CHANGE = "max-instances-change"
    MAX_BORROW_LIMIT_CHANGE = "max-borrow-limit-change"
    MAX_WEIGHT_CHANGE = "max-weight-change"
    MAX_TEAMS_CHANGED = "max-teams-changed"
    COOLDOWN = "cooldown"
    EVIDENCE_AGE = "evidence-age"
    DRIFT = "drift"


class GuardrailSettings(BaseModel):
    """Limits an admin sets once for every apply (and rollback).

    Attributes:
        floors: least instances per team and instance type (``*``: every type).
        ceilings: most instances per team and instance type (``*``: every type).
        max_instances_change: most a team's instances of one type may change per apply.
        max_borrow_limit_change_pct: most a team's BorrowLimit may change per apply (points).
        max_weight_change: most a team's FairShareWeight may change per apply (points).
        max_teams_changed: most teams one apply may change.
        cooldown_s: least time between two applies that change the same team.
        max_evidence_age_s: the recommendation's evidence (its window's end) may be this old.
        allow_drift: apply even when the live policy is not the one the recommendation was
            computed from (off: such a plan answers a question nobody asks any more).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    floors: dict[str, dict[str, Instances]] = {}
    ceilings: dict[str, dict[str, Instances]] = {}
    max_instances_change: Instances = 4
    max_borrow_limit_change_pct: Annotated[int, Field(ge=0, le=10_000)] = 200
    max_weight_change: Annotated[int, Field(ge=0, le=100)] = 20
    max_teams_changed: Instances = 5
    cooldown_s: Annotated[float, Field(ge=0)] = 24 * 3600.0
    max_evidence_age_s: Annotated[float, Field(gt=0)] = 7 * 24 * 3600.0
    allow_drift: bool = False


@dataclass(frozen=True, slots=True)
class Refusal:
    """One guardrail that a change breaks, with what it found."""

    guardrail: Guardrail
    team: str | None
    detail: str

    def line(self) -> str:
        """The refusal as one line a person reads."""
        who = f"{self.team}: " if self.team else ""
        return f"[{self.guardrail}] {who}{self.detail}"


@dataclass(frozen=True, slots=True)
class ApplyContext:
    """What the guardrails judge a change against, besides the two policies.

    Attributes:
        capacity: instances per instance type in the cluster.
        computed_from: per-team quotas the recommendation was computed from (``None`` for a
            rollback, which restores a recorded state rather than answering a question).
        evidence_end: the end of the recommendation's evidence window (``None``: not checked).
        last_applied: per team, when an apply last changed it.
        now: the injected clock's reading.
    """

    capacity: Mapping[str, int]
    computed_from: Mapping[str, TeamQuota] | None
    evidence_end: datetime | None
    last_applied: Mapping[str, datetime]
    now: datetime


def _bound(which: Mapping[str, Mapping[str, int]], team: str, instance_type: str) -> int | None:
    by_type = which.get(team, {})
    return by_type.get(instance_type, by_type.get(ANY_TYPE))


def _capacity(target: Mapping[str, TeamQuota], context: ApplyContext) -> list[Refusal]:
    refusals = []
    types = sorted({t for q in target.values() for t in q.nominal} | set(context.capacity))
    for instance_type in types:
        total = sum(q.instances(instance_type) for q in target.values())
        have = context.capacity.get(instance_type, 0)
        if total > have:
            refusals.append(
                Refusal(
                    Guardrail.CAPACITY,
                    None,
                    f"{instance_type}: teams would be guaranteed {total} instances, "
                    f"the cluster has {have}",
                )
            )
    return refusals


def _bounds(
    team: str, after: TeamQuota, settings: GuardrailSettings, cluster_types: set[str]
) -> list[Refusal]:
    refusals = []
    named = set(settings.floors.get(team, {})) | set(settings.ceilings.get(team, {}))
    # ``*`` bounds every instance type of the cluster, the ones the team has none of too.
    types = sorted(
        set(after.nominal) | (named - {ANY_TYPE}) | (cluster_types if ANY_TYPE in named else set())
    )
    for instance_type in types:
        have = after.instances(instance_type)
        floor = _bound(settings.floors, team, instance_type)
        ceiling = _bound(settings.ceilings, team, instance_type)
        if floor is not None and have < floor:
            detail = f"{instance_type}: {have} instances is below its floor of {floor}"
            refusals.append(Refusal(Guardrail.FLOOR, team, detail))
        if ceiling is not None and have > ceiling:
            detail = f"{instance_type}: {have} instances is above its ceiling of {ceiling}"
            refusals.append(Refusal(Guardrail.CEILING, team, detail))
    return refusals


def _steps(team: str, before: TeamQuota, after: TeamQuota, s: GuardrailSettings) -> list[Refusal]:
    refusals = []
    for instance_type in sorted(set(before.nominal) | set(after.nominal)):
        step = abs(after.instances(instance_type) - before.instances(instance_type))
        if step > s.max_instances_change:
            detail = (
                f"{instance_type}: {before.instances(instance_type)} -> "
                f"{after.instances(instance_type)} instances changes {step}, "
                f"at most {s.max_instances_change} per apply"
            )
            refusals.append(Refusal(Guardrail.MAX_INSTANCES_CHANGE, team, detail))
    # Per value in points, by its API name: the guardrail that caps its change, and the cap.
    caps = {
        "BorrowLimit": (Guardrail.MAX_BORROW_LIMIT_CHANGE, s.max_borrow_limit_change_pct),
        "FairShareWeight": (Guardrail.MAX_WEIGHT_CHANGE, s.max_weight_change),
    }
    was, now = before.points(), after.points()
    for what, (guardrail, cap) in caps.items():
        refusals += _points(team, guardrail, what, (was[what], now[what]), cap)
    return refusals


def _points(
    team: str, guardrail: Guardrail, what: str, change: tuple[int, int], cap: int
) -> list[Refusal]:
    """A refusal when a value in points (percent, weight) moves by more than ``cap``."""
    was, now = change
    if abs(now - was) <= cap:
        return []
    detail = f"{what} {was} -> {now} changes {abs(now - was)} points, at most {cap} per apply"
    return [Refusal(guardrail, team, detail)]


def _timing(teams: Sequence[str], s: GuardrailSettings, context: ApplyContext) -> list[Refusal]:
    refusals = []
    if context.evidence_end is not None:
        age = context.now - context.evidence_end
        if age > timedelta(seconds=s.max_evidence_age_s):
            detail = (
                f"the recommendation's evidence ends {_hours(age)} ago, "
                f"older than the limit of {_hours(timedelta(seconds=s.max_evidence_age_s))}"
            )
            refusals.append(Refusal(Guardrail.EVIDENCE_AGE, None, detail))
    for team in teams:
        last = context.last_applied.get(team)
        if last is not None and context.now - last < timedelta(seconds=s.cooldown_s):
            detail = (
                f"last changed {_hours(context.now - last)} ago; the cooldown is "
                f"{_hours(timedelta(seconds=s.cooldown_s))}"
            )
            refusals.append(Refusal(Guardrail.COOLDOWN, team, detail))
    return refusals


def _drift(live: Mapping[str, TeamQuota], context: ApplyContext) -> list[Refusal]:
    if context.computed_from is None:
        return []
    refusals = []
    for team in sorted(set(live) | set(context.computed_from)):
        was, now = context.computed_from.get(team, NO_QUOTA), live.get(team, NO_QUOTA)
        if was != now:
            detail = f"live {describe(now)} is not what the recommendation saw ({describe(was)})"
            refusals.append(Refusal(Guardrail.DRIFT, team, detail))
    return refusals


def check(
    live: Mapping[str, TeamQuota],
    target: Mapping[str, TeamQuota],
    settings: GuardrailSettings,
    context: ApplyContext,
) -> list[Refusal]:
    """Every guardrail the change from ``live`` to ``target`` breaks; empty when it may go.

    Args:
        live: per-team quotas as the governance API holds them now.
        target: per-team quotas after the change (teams absent keep their live quotas).
        settings: the admin's limits.
        context: capacity, provenance, history and clock.
    """
    after = {**live, **target}
    # A team the API has no object for yet changes even to "no quota": it gets created.
    changed = [t for t in sorted(after) if t not in live or after[t] != live[t]]
    refusals = _capacity(after, context)
    for team in changed:
        before = live.get(team, NO_QUOTA)
        refusals += _bounds(team, after[team], settings, set(context.capacity))
        refusals += _steps(team, before, after[team], settings)
    if len(changed) > settings.max_teams_changed:
        detail = (
            f"{len(changed)} teams would change ({', '.join(changed)}), "
            f"at most {settings.max_teams_changed} per apply"
        )
        refusals.append(Refusal(Guardrail.MAX_TEAMS_CHANGED, None, detail))
    refusals += _timing(changed, settings, context)
    if not settings.allow_drift:
        refusals += _drift(live, context)
    return refusals


def describe(quota: TeamQuota) -> str:
    """A team's quota in one short phrase: ``2 x ml.g5.8xlarge, BorrowLimit 50, weight 0``."""
    nominal = ", ".join(f"{n} x {t}" for t, n in sorted(quota.nominal.items()) if n) or "none"
    return f"{nominal}, BorrowLimit {quota.borrow_limit_pct}, weight {quota.fair_share_weight}"


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
