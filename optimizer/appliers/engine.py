"""One apply, the same for every backend: 1. read the live state, 2. check the guardrails,
3. shape the calls, 4. make them (only with approval), 5. on a conflict re-read and re-check.

Nothing is applied when a guardrail refuses. A conflict stops the apply with the difference
shown, unless the object changed only in what we do not govern and every guardrail still holds
against the state re-read; then the call is made again with the new version, once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from optimizer.appliers.base import (
    Applier,
    ApplyError,
    Call,
    CallResult,
    ConflictError,
    Desired,
    LiveState,
    Outcome,
)
from optimizer.appliers.guardrails import (
    ApplyContext,
    GuardrailSettings,
    Refusal,
    check,
    describe,
)
from optimizer.appliers.quotas import NO_QUOTA, TeamQuota
from taskgov.errors import TaskgovError

# Exit codes beyond the usual four, documented in the README and `taskgov apply --help`.
EXIT_REFUSED = 4
EXIT_CONFLICT = 5


class GuardrailRefusal(TaskgovError):
    """A guardrail refused the change; nothing was applied."""

    exit_code = EXIT_REFUSED

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.refusals = list(refusals)
        lines = "\n".join(f"  {r.line()}" for r in self.refusals)
        super().__init__(f"refused by {len(self.refusals)} guardrail check(s):\n{lines}")


@dataclass(slots=True)
class ApplyReport:
    """What an apply did: its outcome, the calls with their results, refusals and notes."""

    outcome: Outcome
    results: list[CallResult] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """The process exit code this outcome documents."""
        return {
            Outcome.REFUSED: EXIT_REFUSED,
            Outcome.CONFLICT: EXIT_CONFLICT,
            Outcome.PARTIAL: 1,
            Outcome.FAILED: 1,
        }.get(self.outcome, 0)


ContextOf = Callable[[LiveState], ApplyContext]


def run_apply(
    applier: Applier,
    desired: Sequence[Desired],
    settings: GuardrailSettings,
    context_of: ContextOf,
    *,
    approve: bool,
) -> ApplyReport:
    """Apply ``desired`` through ``applier`` under ``settings``; the report says what happened.

    Args:
        applier: the backend.
        desired: per team, what its object should become.
        settings: the guardrails' limits.
        context_of: capacity, provenance, history and clock, for a given live state.
        approve: make the calls; without it, a dry run that reads and checks only.
    """
    live = applier.read_live()
    calls = [c for d in desired if (c := applier.call_for(live, d)) is not None]
    if not calls:
        return ApplyReport(Outcome.UNCHANGED, notes=["the live state already is the target"])
    refusals = _refusals(live, desired, settings, context_of)
    if refusals:
        results = [CallResult(c, Outcome.NOT_ATTEMPTED) for c in calls]
        return ApplyReport(Outcome.REFUSED, results, refusals)
    if not approve:
        return ApplyReport(Outcome.DRY_RUN, [CallResult(c, Outcome.DRY_RUN) for c in calls])
    return _make_all(applier, calls, desired, settings, context_of)


def _refusals(
    live: LiveState, desired: Sequence[Desired], settings: GuardrailSettings, context_of: ContextOf
) -> list[Refusal]:
    target = {d.team: d.quota for d in desired}
    return check(live.quotas, target, settings, context_of(live))


def _make_all(
    applier: Applier,
    calls: list[Call],
    desired: Sequence[Desired],
    settings: GuardrailSettings,
    context_of: ContextOf,
) -> ApplyReport:
    results: list[CallResult] = []
    report = ApplyReport(Outcome.APPLIED, results)
    by_team = {d.team: d for d in desired}
    for position, call in enumerate(calls):
        try:
            results.append(CallResult(call, Outcome.APPLIED, applier.make(call)))
            continue
        except ConflictError as conflict:
            retried = _after_conflict(applier, call, by_team, settings, context_of, report)
            if retried is None:
                results.append(CallResult(call, Outcome.CONFLICT, error=str(conflict)))
                report.outcome = Outcome.CONFLICT
            else:
                results.append(retried)
                if retried.outcome is Outcome.APPLIED:
                    continue
                report.outcome = Outcome.FAILED
        except ApplyError as error:
            results.append(CallResult(call, Outcome.FAILED, error=str(error)))
            report.outcome = Outcome.FAILED
        results.extend(CallResult(c, Outcome.NOT_ATTEMPTED) for c in calls[position + 1 :])
        if any(r.outcome is Outcome.APPLIED for r in results):
            report.outcome = Outcome.PARTIAL if report.outcome is Outcome.FAILED else report.outcome
            report.notes.append("applied before the stop: " + ", ".join(_applied(results)))
        return report
    return report


def _applied(results: list[CallResult]) -> list[str]:
    return [r.call.name for r in results if r.outcome is Outcome.APPLIED]


def _after_conflict(
    applier: Applier,
    call: Call,
    by_team: dict[str, Desired],
    settings: GuardrailSettings,
    context_of: ContextOf,
    report: ApplyReport,
) -> CallResult | None:
    """Re-read, re-check; the retried call's result, or ``None`` when the change must stop."""
    fresh = applier.read_live()
    team = call.team
    if team is None or team not in by_team:
        report.notes.append(f"{call.name} changed meanwhile; re-run the apply to see the new plan")
        return None
    now_object = fresh.objects.get(team)
    now_quota = fresh.quotas.get(team, NO_QUOTA)
    old_quota = _quota_seen(call, by_team[team], applier, fresh)
    if now_quota != old_quota:
        report.notes.append(
            f"{team}: changed meanwhile from {describe(old_quota)} to {describe(now_quota)}; "
            "nothing more applied"
        )
        return None
    refusals = _refusals(fresh, [by_team[team]], settings, context_of)
    if refusals:
        report.refusals.extend(refusals)
        report.notes.append(f"{team}: the state re-read breaks a guardrail; nothing more applied")
        return None
    retry = applier.call_for(fresh, by_team[team])
    if retry is None or now_object is None:
        return CallResult(call, Outcome.UNCHANGED)
    report.notes.append(
        f"{team}: {call.name} changed meanwhile only in fields we do not govern "
        f"(version {_version(call)} -> {now_object.version}); applied again"
    )
    try:
        return CallResult(retry, Outcome.APPLIED, applier.make(retry))
    except ApplyError as error:
        return CallResult(retry, Outcome.FAILED, error=str(error))


def _quota_seen(call: Call, desired: Desired, applier: Applier, fresh: LiveState) -> TeamQuota:
    """The team's quota as this apply first read it (from the call's before-state)."""
    if call.before is None:
        return NO_QUOTA
    return applier.restore(desired.team, call.before).quota


def _version(call: Call) -> str:
    """The version the call was conditioned on (TargetVersion or resourceVersion)."""
    if "TargetVersion" in call.request:
        return str(call.request["TargetVersion"])
    return str((call.request.get("metadata") or {}).get("resourceVersion", "?"))
