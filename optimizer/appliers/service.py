"""Apply a stored recommendation, roll an apply back, or check whether it worked.

Each is one function the CLI calls: 1. read the record, 2. build what each team should become,
3. run the engine (guardrails, calls, conflicts), 4. record the attempt, whatever its outcome.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from optimizer.appliers import audit
from optimizer.appliers.base import Applier, ApplyError, Desired, LiveState
from optimizer.appliers.engine import ApplyReport, run_apply
from optimizer.appliers.guardrails import ApplyContext, GuardrailSettings
from optimizer.appliers.quotas import TeamQuota, changed_teams, team_quotas
from optimizer.store import StoredRun, open_store, read_run
from taskgov.errors import Fault, InputError
from taskgov.store import Connection, open_read_only, watermark


@dataclass(frozen=True, slots=True)
class Attempt:
    """A recorded attempt: its id and what the engine reported."""

    apply_id: int
    report: ApplyReport
    caller: str


def _evidence_end(run: StoredRun) -> datetime | None:
    if run.source.origin is None:
        return None
    return run.source.origin + timedelta(seconds=run.plan.window_s[1])


def _caller(applier: Applier) -> str:
    try:
        return applier.caller()
    except ApplyError:
        raise
    except Exception as error:  # noqa: BLE001 - a client library's own failure, named
        raise ApplyError(f"cannot tell who calls {applier.endpoint}: {error}") from None


@dataclass(frozen=True, slots=True)
class _Change:
    """What an apply or a rollback asks for (steps 1 and 2), and what its record points back to.

    Attributes:
        desired: what each team's object should become.
        context_of: the guardrails' context, given the live state.
        run_id: the recommendation applied (``None`` for a rollback).
        rollback_of: the apply a rollback restores (``None`` for an apply).
        cluster: the cluster the record is for.
    """

    desired: list[Desired]
    context_of: Callable[[LiveState], ApplyContext]
    run_id: int | None
    rollback_of: int | None
    cluster: str


def _apply_and_record(
    conn: Connection,
    applier: Applier,
    settings: GuardrailSettings,
    change: _Change,
    *,
    approve: bool,
    now: datetime,
) -> Attempt:
    """Steps 3 and 4 of both apply and rollback: run the engine, then record the attempt."""
    caller = _caller(applier)
    report = run_apply(applier, change.desired, settings, change.context_of, approve=approve)
    info = audit.AttemptInfo(
        change.run_id,
        change.rollback_of,
        applier.backend,
        applier.endpoint,
        caller,
        change.cluster,
        approve,
        now,
    )
    return Attempt(audit.record(conn, info, report), report, caller)


def apply_run(
    db: Path,
    run_id: int,
    applier: Applier,
    settings: GuardrailSettings,
    *,
    approve: bool,
    now: datetime,
) -> Attempt:
    """Apply stored run ``run_id`` (a dry run unless ``approve``); the recorded attempt.

    Raises:
        InputError: no such run, or the run proposes nothing (infeasible).
        ApplyError: the governance API cannot be reached, or refuses the credentials.
    """
    with open_store(db) as conn:
        run = read_run(conn, run_id)
        if run.proposed is None:
            fault = Fault(
                "RUN", str(run_id), "", f"run {run_id} has no proposal ({run.plan.status})"
            )
            raise InputError([fault])
        teams = changed_teams(run.policy, run.proposed)
        desired = [applier.desired(run.proposed, team) for team in teams]
        recent = audit.last_applied(conn)
        computed_from = {
            team: applier.desired(run.policy, team).quota for team in team_quotas(run.policy)
        }
        capacity = run.cluster.instance_counts()

        def context_of(live: LiveState) -> ApplyContext:
            return ApplyContext(capacity, computed_from, _evidence_end(run), recent, now)

        change = _Change(desired, context_of, run_id, None, run.cluster.name)
        return _apply_and_record(conn, applier, settings, change, approve=approve, now=now)


def _original_run(conn: Connection, row: Mapping[str, Any]) -> StoredRun:
    """The recommendation an apply (or a chain of rollbacks) started from."""
    while row["run_id"] is None:
        row, _ = audit.attempt(conn, int(row["rollback_of"]))
    return read_run(conn, int(row["run_id"]))


def rollback(
    db: Path,
    apply_id: int,
    applier: Applier,
    settings: GuardrailSettings,
    *,
    approve: bool,
    now: datetime,
) -> Attempt:
    """Restore the before-state apply ``apply_id`` recorded, under the same guardrails.

    The live state must still be what that apply left (else the drift guardrail refuses):
    a rollback never undoes somebody else's later change.
    """
    with open_store(db) as conn:
        row, objects = audit.attempt(conn, apply_id)
        changed = audit.restorable(objects)
        if not changed:
            fault = Fault("APPLY_ID", str(apply_id), "", "that apply changed nothing to restore")
            raise InputError([fault])
        run = _original_run(conn, row)
        desired: list[Desired] = [applier.restore(str(o.team), o.before) for o in changed]
        left: dict[str, TeamQuota] = {
            str(o.team): applier.restore(str(o.team), o.after).quota for o in changed
        }
        recent = audit.last_applied(conn)
        capacity = run.cluster.instance_counts()

        def context_of(live: LiveState) -> ApplyContext:
            expected = {**live.quotas, **left}
            return ApplyContext(capacity, expected, None, _without(recent, left), now)

        change = _Change(desired, context_of, None, apply_id, str(row["cluster"]))
        return _apply_and_record(conn, applier, settings, change, approve=approve, now=now)


def _without(recent: Mapping[str, datetime], teams: Mapping[str, object]) -> dict[str, datetime]:
    """A rollback restores on purpose: the cooldown does not hold it back."""
    return {team: at for team, at in recent.items() if team not in teams}


def verify(db: Path, apply_id: int, window: timedelta | None = None) -> list[dict[str, Any]]:
    """Per team, waits, starvation, preemptions and utilization before and after an apply,
    with what the recommendation predicted for the team.

    Raises:
        InputError: no such apply, or it applied nothing.
    """
    # The worker's record (its aggregates) must be there: open_read_only says so if not.
    with contextlib.closing(open_read_only(db)) as conn:
        row, objects = audit.attempt(conn, apply_id)
        if not audit.restorable(objects):
            fault = Fault("APPLY_ID", str(apply_id), "", f"apply {apply_id} changed nothing")
            raise InputError([fault])
        at: datetime = row["created_at"]
        mark = watermark(conn) or at
        span = window or max(mark - at, timedelta(minutes=1))
        cursor = conn.execute(
            (audit.SQL_DIR / "verify.sql").read_text(),
            {"before_start": at - span, "at": at, "after_end": min(at + span, mark)},
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        predicted = _predicted(conn, row)
        teams = {str(o.team) for o in audit.restorable(objects)}
        for item in rows:
            item["changed"] = item["team"] in teams
            item["predicted"] = predicted.get(item["team"], {}) if item["side"] == "after" else {}
        return rows


def _predicted(conn: Connection, row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The what-if effect the recommendation printed, per team (proposed side)."""
    if row["run_id"] is None:
        return {}
    run = read_run(conn, int(row["run_id"]))
    return {t.team: {m: v[1] for m, v in t.effect.items()} for t in run.plan.teams}
