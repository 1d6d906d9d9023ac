"""The JSON API: what each dashboard page shows, one function per endpoint.

Every payload is built from ``.sql`` files only (the reports in ``sql/reports``, the
server's own in ``sql/serve``), so a chart's data is exactly what the matching report
returns for the same parameters. Parameters come from the query string: ``since`` and
``until`` (ISO 8601, UTC), ``cluster``, ``team``, ``run_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from taskgov.errors import Fault, InputError
from taskgov.serve.records import QUERIES, REPORTS, Payload, Rows, has_table, run, run_columns
from taskgov.serve.why import explain
from taskgov.store import Connection
from taskgov.times import parse_instant

Parameters = dict[str, object]


def parameters(query: Mapping[str, str]) -> Parameters:
    """The typed parameters of a request's query string (unknown keys are refused).

    Raises:
        InputError: a time is not ISO 8601, run_id is not a number, or a key is unknown.
    """
    known = {"since", "until", "cluster", "team", "run_id", "workload"}
    unknown = sorted(set(query) - known)
    if unknown:
        raise InputError([Fault("query", unknown[0], "", f"unknown parameter; known: {known}")])
    typed: Parameters = {k: v or None for k, v in query.items()}
    for name in ("since", "until"):
        typed[name] = parse_instant(query.get(name) or None, name)
    if query.get("run_id"):
        if not query["run_id"].isdigit():
            raise InputError([Fault("query", "run_id", query["run_id"], "not a whole number")])
        typed["run_id"] = int(query["run_id"])
    return typed


def _rows(result: Rows) -> Payload:
    return {"columns": list(result.columns), "rows": result.records}


def clusters(conn: Connection, given: Parameters) -> Payload:
    """The clusters in the record with their time span, teams and instance types."""
    return _rows(run(conn, QUERIES["clusters"], given))


def usage(conn: Connection, given: Parameters) -> Payload:
    """Per bucket, team and instance type: guarantee, within it, borrowed, lent, idle; sent
    column by column (``run_columns``), since it is the largest payload the dashboard asks."""
    return run_columns(conn, QUERIES["usage_timeline"], given)


# The team page's charts and the report each one draws.
TEAM_REPORTS = ("wait_times", "preemptions", "pending_causes", "starvation")


def team(conn: Connection, given: Parameters) -> Payload:
    """Wait percentiles, preemptions by whom, pending causes and starvation episodes."""
    return {name: _rows(run(conn, REPORTS[name], given)) for name in TEAM_REPORTS}


def recommendations(conn: Connection, given: Parameters) -> Payload:
    """A run's plan (current vs proposed) and what-if deltas with their spread over runs."""
    if not has_table(conn, "recommendation_runs"):
        empty: Payload = {"columns": [], "rows": []}
        return {"runs": empty, "quotas": empty, "effects": empty}
    return {
        "runs": _rows(run(conn, QUERIES["recommendation_runs"], {})),
        "quotas": _rows(run(conn, QUERIES["recommendation_quotas"], given)),
        "effects": _rows(run(conn, QUERIES["recommendation_effects"], given)),
    }


def timeline(conn: Connection, given: Parameters) -> Payload:
    """Starvation episodes (what the starvation alert fires on), recommendation runs and
    applies, as spans and instants on one time axis."""
    items = [
        _span(
            "starvation",
            episode["started_at"],
            episode["ended_at"],
            f"{episode['team']} starved of {episode['instance_type']}",
            team=episode["team"],
        )
        for episode in run(conn, REPORTS["starvation"], given).records
    ]
    for table, kind, label in _INSTANTS:
        if has_table(conn, table):
            records = run(conn, QUERIES[table], given).records
            items += [_instant(kind, record["created_at"], label(record)) for record in records]
    return {"columns": ["kind", "team", "start", "end", "label"], "rows": items}


def _span(kind: str, start: Any, end: Any, label: str, *, team: str = "") -> dict[str, Any]:
    """One row of the timeline (``end`` is None while the span goes on)."""
    return {"kind": kind, "team": team, "start": start, "end": end, "label": label}


def _instant(kind: str, at: Any, label: str) -> dict[str, Any]:
    """A row of the timeline that happened at one instant, of no team in particular."""
    return _span(kind, at, at, label)


def _run_label(made: Mapping[str, Any]) -> str:
    return f"run {made['run_id']}: {made['status']}, {made['teams_changed']} team(s) changed"


def _apply_label(applied: Mapping[str, Any]) -> str:
    return (
        f"apply {applied['apply_id']} of run {applied['run_id']} to "
        f"{applied['backend']}: {applied['outcome']}"
    )


# The instants on the timeline: the table they are recorded in (when it exists), their kind
# and their label.
_INSTANTS: tuple[tuple[str, str, Callable[[Mapping[str, Any]], str]], ...] = (
    ("recommendation_runs", "recommendation", _run_label),
    ("apply_runs", "apply", _apply_label),
)


def why(conn: Connection, given: Parameters) -> Payload:
    """Why the Workload ``workload`` (namespace/name) waits, at ``until`` or the latest."""
    workload = given.get("workload")
    if not isinstance(workload, str):
        raise InputError([Fault("query", "workload", "", "name a workload: NAMESPACE/NAME")])
    until = given.get("until")
    answer = explain(conn, workload, at=until if isinstance(until, datetime) else None)
    return answer.model_dump(mode="json")


def no_alerts(_conn: Connection, _given: Parameters) -> Payload:
    """``/api/alerts`` when this server evaluates no alert rules (see ``--alert-every``)."""
    return {"active": [], "history": [], "episodes": [], "evaluating": False}


Endpoint = Callable[[Connection, Parameters], Payload]

ENDPOINTS: dict[str, Endpoint] = {
    "clusters": clusters,
    "usage": usage,
    "team": team,
    "recommendations": recommendations,
    "timeline": timeline,
    "why": why,
    "alerts": no_alerts,
}
