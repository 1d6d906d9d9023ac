"""Recommendation runs in DuckDB: inputs, evidence, solver result, plan and what-if replay.

:func:`save_run` writes one run in one transaction to the tables of
``sql/schema/003_recommendations.sql``; :func:`read_run` reads it back (the plan exactly as it
was built, so ``taskgov recommend --show`` prints what the run printed) and :func:`list_runs`
summarizes them. Open the database with :func:`open_store`: a writer applies the optimizer's own
schema files (never the worker's, so no run rebuilds the aggregates). SQL: ``sql/recommendations``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from optimizer.history import naive_utc
from optimizer.model.data import Cell
from optimizer.plan import ConflictView, PhaseView, Plan, QuotaView, TeamPlan
from optimizer.recommend import Recommendation
from optimizer.settings import OptimizerSettings
from taskgov.errors import DatabaseError, Fault, InputError
from taskgov.policy.model import Cluster, Policy
from taskgov.store import (
    LOCK_WAIT_S,
    Connection,
    Owner,
    QueryError,
    connect_read_only,
    connect_read_write,
    database_path,
    migrate,
    sql_text,
    table_names,
    transaction,
)

SourceKind = Literal["duckdb", "trace"]
# The evidence a run keeps, long: one number a row.
EVIDENCE_SCHEMA: dict[str, Any] = {
    "basis": pl.String,
    "team": pl.String,
    "instance_type": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
}
_KEYS = ("team", "instance_type")
# The plan's notes on how it was chosen, stored as one JSON object (007_recommendation_plan_notes).
_PLAN_NOTES = ("evidence", "warnings", "candidates", "chosen")


@dataclass(frozen=True, slots=True)
class RunSource:
    """Where a run's jobs came from.

    Attributes:
        kind: ``duckdb`` (a recorded history) or ``trace`` (a trace replayed on the twin).
        location: the database or trace file.
        cluster: the recorded cluster; ``None`` for a trace.
        origin: the instant (naive UTC) seconds count from; ``None`` for a trace.
        since_s: only jobs submitted from then on were read; ``None``: all.
    """

    kind: SourceKind
    location: str
    cluster: str | None = None
    origin: datetime | None = None
    since_s: float | None = None


@dataclass(frozen=True)
class StoredRun:
    """One stored run, as read back.

    Attributes:
        run_id: its number (1, 2, ... in the order stored).
        created_at: when it was stored (naive UTC).
        source: where its jobs came from.
        jobs: jobs the demand profile read.
        policy: today's policy the run started from.
        cluster: the cluster.
        settings: the optimizer settings (solver parameters included).
        plan: the plan, as built.
        proposed: the policy with the proposals applied (``None`` unless solved).
        evidence: :data:`EVIDENCE_SCHEMA` rows, by basis, team, instance type and metric.
    """

    run_id: int
    created_at: datetime
    source: RunSource
    jobs: int
    policy: Policy
    cluster: Cluster
    settings: OptimizerSettings
    plan: Plan
    proposed: Policy | None
    evidence: pl.DataFrame


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One line of :func:`list_runs`."""

    run_id: int
    created_at: datetime
    source_kind: str
    source: str
    cluster: str | None
    origin: datetime | None
    since_s: float | None
    jobs: int
    status: str
    teams_changed: int


@contextmanager
def open_store(
    path: Path, *, read_only: bool = False, lock_wait_s: float = LOCK_WAIT_S
) -> Iterator[Connection]:
    """A connection to the database at ``path``, closed on exit. Both wait up to ``lock_wait_s``
    for another process to let go of the file.

    A writer creates the database if needed and applies the optimizer's own schema files
    (the recommendation tables) only: the worker's tables and aggregates are the worker's.

    Raises:
        InputError: ``read_only`` and there is no database at ``path``, or it is none.
        DatabaseError: the file stays locked by another process.
    """
    if read_only:
        conn = connect_read_only(path, lock_wait_s=lock_wait_s)
    else:
        conn = connect_read_write(path, lock_wait_s=lock_wait_s)
    try:
        if not read_only:
            migrate(conn, owner=Owner.OPTIMIZER)
        yield conn
    finally:
        conn.close()


def evidence_rows(rec: Recommendation) -> pl.DataFrame:
    """The demand profile per team and type and the model's cells, long (see EVIDENCE_SCHEMA)."""
    by_team = rec.profile.by_team
    metrics = [c for c in by_team.columns if c not in _KEYS and by_team[c].dtype.is_numeric()]
    demand = (
        by_team.select(*_KEYS, *[pl.col(m).cast(pl.Float64) for m in metrics])
        .unpivot(index=list(_KEYS), on=metrics, variable_name="metric", value_name="value")
        .with_columns(basis=pl.lit("demand"))
    )
    model = pl.DataFrame(
        [(c.team, c.instance_type, *pair) for c in rec.data.cells.values() for pair in _numbers(c)],
        schema={k: EVIDENCE_SCHEMA[k] for k in ("team", "instance_type", "metric", "value")},
        orient="row",
    ).with_columns(basis=pl.lit("model"))
    return sort_evidence(pl.concat([demand, model], how="diagonal").select(list(EVIDENCE_SCHEMA)))


def sort_evidence(frame: pl.DataFrame) -> pl.DataFrame:
    """Evidence in its stored order: basis, team, instance type, metric."""
    return frame.sort("basis", "team", "instance_type", "metric")


def _numbers(cell: Cell) -> list[tuple[str, float | None]]:
    """The cell's numeric fields (``None``: not set), by name."""
    numbers: list[tuple[str, float | None]] = []
    for f in fields(Cell):
        value = getattr(cell, f.name)
        if f.name in _KEYS or isinstance(value, bool):
            continue
        if value is None or isinstance(value, int | float):
            numbers.append((f.name, None if value is None else float(value)))
    return numbers


def save_run(
    conn: Connection,
    rec: Recommendation,
    plan: Plan,
    settings: OptimizerSettings,
    source: RunSource,
    *,
    created_at: datetime | None = None,
) -> int:
    """Store one run in one transaction.

    Args:
        conn: a migrated, writable connection, not inside a transaction.
        rec: the recommendation (inputs, profile, model data, proposed policy).
        plan: its plan (``build_plan(rec, settings)``).
        settings: the settings it ran with.
        source: where its jobs came from.
        created_at: when (default now; naive is UTC).

    Returns:
        The new run's id.

    Raises:
        DatabaseError: the database refused the write; nothing was stored.
    """
    moment = naive_utc(created_at or datetime.now(UTC))
    try:
        with transaction(conn):
            row = conn.execute(sql_text("recommendations/next_run_id.sql")).fetchone()
            run_id = int(row[0]) if row else 1
            _insert_run(conn, run_id, moment, rec, plan, settings, source)
            _insert_details(conn, run_id, rec, plan)
    except QueryError as error:
        where = database_path(conn)
        raise DatabaseError(where, f"cannot store the run: {error}") from None
    return run_id


def _insert_run(
    conn: Connection,
    run_id: int,
    created_at: datetime,
    rec: Recommendation,
    plan: Plan,
    settings: OptimizerSettings,
    source: RunSource,
) -> None:
    conn.execute(
        sql_text("recommendations/insert_run.sql"),
        {
            "run_id": run_id,
            "created_at": created_at,
            "kind": source.kind,
            "location": source.location,
            "cluster": source.cluster,
            "origin": source.origin,
            "since_s": source.since_s,
            "jobs": rec.profile.job_waits.height,
            "window_start_s": plan.window_s[0],
            "window_end_s": plan.window_s[1],
            "policy_name": rec.policy.name,
            "policy": rec.policy.model_dump_json(),
            "cluster_spec": rec.cluster.model_dump_json(),
            "settings": settings.model_dump_json(),
            "status": plan.status,
            "solver_parameters": plan.solver_parameters,
            "proposed": rec.proposed.model_dump_json() if rec.proposed else None,
            "plan_notes": plan.model_dump_json(include=set(_PLAN_NOTES)),
        },
    )


def _insert_details(conn: Connection, run_id: int, rec: Recommendation, plan: Plan) -> None:
    for n, p in enumerate(plan.phases):
        conn.execute(
            sql_text("recommendations/insert_phase.sql"),
            [run_id, n, p.objective, p.description, p.status, p.value, p.bound, p.gap, p.wall_s],
        )
    for n, c in enumerate(plan.conflicts):
        conn.execute(
            sql_text("recommendations/insert_conflict.sql"), [run_id, n, c.constraint, c.detail]
        )
    evidence = evidence_rows(rec)
    if evidence.height:
        columns = {name: evidence[name].to_list() for name in EVIDENCE_SCHEMA}
        conn.execute(sql_text("recommendations/insert_evidence.sql"), {"run_id": run_id, **columns})
    _insert_teams(conn, run_id, plan.teams)
    position = 0
    for policy, numbers in plan.overall.items():
        for metric, value in numbers.items():
            whole = isinstance(value, int) and not isinstance(value, bool)
            conn.execute(
                sql_text("recommendations/insert_replay.sql"),
                [run_id, policy, position, metric, value, whole],
            )
            position += 1


def _insert_teams(conn: Connection, run_id: int, teams: list[TeamPlan]) -> None:
    position = 0
    for n, t in enumerate(teams):
        current, proposed = t.current, t.proposed
        conn.execute(
            sql_text("recommendations/insert_team.sql"),
            [
                *(run_id, n, t.team, t.changed),
                *(list(current.nominal), list(current.nominal.values())),
                *(list(proposed.nominal), list(proposed.nominal.values())),
                *(current.borrow_limit_pct, proposed.borrow_limit_pct),
                *(current.fair_share_weight, proposed.fair_share_weight),
                *(list(t.why), t.aws_cli, t.kueue_patch),
            ],
        )
        for metric, (before, after) in t.effect.items():
            conn.execute(
                sql_text("recommendations/insert_effect.sql"),
                [run_id, t.team, position, metric, before, after],
            )
            position += 1


def list_runs(conn: Connection) -> list[RunSummary]:
    """Every stored run, oldest first (none when the tables do not exist yet)."""
    if not _has_runs_table(conn):
        return []
    rows = conn.execute(sql_text("recommendations/list_runs.sql")).fetchall()
    return [
        RunSummary(
            int(run_id),
            created,
            str(kind),
            str(where),
            cluster,
            origin,
            since,
            int(jobs),
            str(status),
            int(changed),
        )
        for run_id, created, kind, where, cluster, origin, since, jobs, status, changed in rows
    ]


def _has_runs_table(conn: Connection) -> bool:
    return "recommendation_runs" in table_names(conn)


def read_run(conn: Connection, run_id: int) -> StoredRun:
    """The stored run ``run_id``.

    Raises:
        InputError: there is no such run (the message names the runs there are).
    """
    found = _has_runs_table(conn)
    row = (
        conn.execute(sql_text("recommendations/read_run.sql"), [run_id]).fetchone()
        if found
        else None
    )
    if row is None:
        known = [r.run_id for r in list_runs(conn)]
        have = f"stored runs: {', '.join(map(str, known))}" if known else "no runs are stored"
        raise InputError([Fault("--show", str(run_id), "", f"no such run ({have})")])
    (_, created_at, kind, location, cluster_name, origin, since_s, jobs, *rest) = row
    window_start, window_end, policy_json, cluster_json, settings_json, *solved = rest
    status, parameters, proposed_json, notes_json = solved
    plan = Plan(
        status=status,
        phases=_phases(conn, run_id),
        solver_parameters=parameters,
        conflicts=[
            ConflictView(constraint=c, detail=d)
            for c, d in conn.execute(
                sql_text("recommendations/read_conflicts.sql"), [run_id]
            ).fetchall()
        ],
        window_s=(window_start, window_end),
        overall=_overall(conn, run_id),
        teams=_teams(conn, run_id),
        **(json.loads(notes_json) if notes_json else {}),
    )
    evidence = conn.execute(sql_text("recommendations/read_evidence.sql"), [run_id]).fetchall()
    return StoredRun(
        run_id=run_id,
        created_at=created_at,
        source=RunSource(kind, location, cluster_name, origin, since_s),
        jobs=int(jobs),
        policy=Policy.model_validate_json(policy_json),
        cluster=Cluster.model_validate_json(cluster_json),
        settings=OptimizerSettings.model_validate_json(settings_json),
        plan=plan,
        proposed=Policy.model_validate_json(proposed_json) if proposed_json else None,
        evidence=pl.DataFrame(evidence, schema=EVIDENCE_SCHEMA, orient="row"),
    )


def _phases(conn: Connection, run_id: int) -> list[PhaseView]:
    rows = conn.execute(sql_text("recommendations/read_phases.sql"), [run_id]).fetchall()
    return [
        PhaseView(objective=o, description=d, status=s, value=v, bound=b, gap=g, wall_s=w)
        for o, d, s, v, b, g, w in rows
    ]


def _overall(conn: Connection, run_id: int) -> dict[str, dict[str, float | int | None]]:
    overall: dict[str, dict[str, float | int | None]] = {}
    rows = conn.execute(sql_text("recommendations/read_replay.sql"), [run_id]).fetchall()
    for policy, metric, value, whole in rows:
        number = int(value) if whole and value is not None and math.isfinite(value) else value
        overall.setdefault(policy, {})[metric] = number
    return overall


def _teams(conn: Connection, run_id: int) -> list[TeamPlan]:
    effects: dict[str, dict[str, tuple[float | None, float | None]]] = {}
    for team, metric, current, proposed in conn.execute(
        sql_text("recommendations/read_effects.sql"), [run_id]
    ).fetchall():
        effects.setdefault(team, {})[metric] = (current, proposed)
    rows = conn.execute(sql_text("recommendations/read_teams.sql"), [run_id]).fetchall()
    return [
        TeamPlan(
            team=team,
            changed=changed,
            current=QuotaView(
                nominal=dict(current), borrow_limit_pct=cur_borrow, fair_share_weight=cur_weight
            ),
            proposed=QuotaView(
                nominal=dict(proposed), borrow_limit_pct=new_borrow, fair_share_weight=new_weight
            ),
            why=list(why),
            effect=effects.get(team, {}),
            aws_cli=aws_cli,
            kueue_patch=patch,
        )
        for (
            team,
            changed,
            current,
            proposed,
            cur_borrow,
            new_borrow,
            cur_weight,
            new_weight,
            why,
            aws_cli,
            patch,
        ) in rows
    ]
