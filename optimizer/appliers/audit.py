"""The audit of every apply attempt in DuckDB: who, when, what, the exact calls and answers.

The record is what makes an apply reversible (``taskgov rollback`` restores the before-state
written here) and what the cooldown guardrail reads. Written in one transaction per attempt,
so a crash leaves either the whole attempt or nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from optimizer.appliers.base import Backend, Outcome
from optimizer.appliers.engine import ApplyReport
from taskgov.errors import Fault, InputError
from taskgov.store import Connection

SQL_DIR = Path(__file__).resolve().parents[2] / "sql" / "apply"


def _sql(name: str) -> str:
    return (SQL_DIR / name).read_text()


@dataclass(frozen=True, slots=True)
class AttemptInfo:
    """What an attempt was, besides its report."""

    run_id: int | None
    rollback_of: int | None
    backend: Backend
    endpoint: str
    caller: str
    cluster: str
    approved: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordedObject:
    """One object call of a recorded attempt."""

    position: int
    team: str | None
    kind: str
    name: str
    operation: str
    outcome: str
    before: dict[str, Any] | None
    after: dict[str, Any]
    request: dict[str, Any]
    response: dict[str, Any] | None
    error: str | None


def record(conn: Connection, info: AttemptInfo, report: ApplyReport) -> int:
    """Write one attempt; its ``apply_id``."""
    conn.execute("BEGIN TRANSACTION")
    try:
        row = conn.execute("SELECT coalesce(max(apply_id), 0) + 1 FROM apply_runs").fetchone()
        apply_id = int(row[0]) if row else 1
        conn.execute(
            "INSERT INTO apply_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                apply_id,
                info.at.replace(tzinfo=None),
                info.run_id,
                info.rollback_of,
                str(info.backend),
                info.endpoint,
                info.caller,
                info.cluster,
                info.approved,
                str(report.outcome),
                report.notes,
            ],
        )
        for position, result in enumerate(report.results):
            call = result.call
            conn.execute(
                "INSERT INTO apply_objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    apply_id,
                    position,
                    call.team,
                    call.kind,
                    call.name,
                    call.operation,
                    str(result.outcome),
                    _json(call.before),
                    json.dumps(call.after, sort_keys=True),
                    json.dumps(call.request, sort_keys=True, default=str),
                    _json(result.response) if result.response else None,
                    result.error,
                ],
            )
        for position, refusal in enumerate(report.refusals):
            conn.execute(
                "INSERT INTO apply_refusals VALUES (?, ?, ?, ?, ?)",
                [apply_id, position, str(refusal.guardrail), refusal.team, refusal.detail],
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return apply_id


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def last_applied(conn: Connection) -> dict[str, datetime]:
    """Per team, when an apply last changed it."""
    return {team: at for team, at in conn.execute(_sql("last_applied.sql")).fetchall()}


def history(conn: Connection) -> list[dict[str, Any]]:
    """Every attempt, newest first."""
    cursor = conn.execute(_sql("history.sql"))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def attempt(conn: Connection, apply_id: int) -> tuple[dict[str, Any], list[RecordedObject]]:
    """One recorded attempt and its objects.

    Raises:
        InputError: there is no such apply (the message names the ones there are).
    """
    cursor = conn.execute("SELECT * FROM apply_runs WHERE apply_id = ?", [apply_id])
    row = cursor.fetchone()
    if row is None:
        known = [str(r["apply_id"]) for r in history(conn)]
        have = f"recorded applies: {', '.join(known)}" if known else "no applies are recorded"
        raise InputError([Fault("APPLY_ID", str(apply_id), "", f"no such apply ({have})")])
    names = [d[0] for d in cursor.description]
    run = dict(zip(names, row, strict=True))
    rows = conn.execute(
        "SELECT position, team, kind, name, operation, outcome, before_json, after_json,"
        " request_json, response_json, error FROM apply_objects WHERE apply_id = ?"
        " ORDER BY position",
        [apply_id],
    ).fetchall()
    objects = [_recorded_object(row) for row in rows]
    return run, objects


def _recorded_object(row: tuple[Any, ...]) -> RecordedObject:
    """A row of ``apply_objects`` in :class:`RecordedObject`'s field order, JSON still text."""
    position, team, kind, name, operation, outcome, before, after, request, response, error = row
    return RecordedObject(
        position,
        team,
        kind,
        name,
        operation,
        outcome,
        json.loads(before) if before else None,
        json.loads(after),
        json.loads(request),
        json.loads(response) if response else None,
        error,
    )


def restorable(objects: list[RecordedObject]) -> list[RecordedObject]:
    """The objects a rollback restores: those the attempt actually changed."""
    return [o for o in objects if o.outcome == str(Outcome.APPLIED) and o.team is not None]
