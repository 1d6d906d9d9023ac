"""Recommendation runs in DuckDB: inputs, evidence, solver result, plan and what-if replay.

:func:`save_run` writes one run in one transaction to the tables of
``sql/schema/003_recommendations.sql``; :func:`read_run` reads it back (the plan exactly as it
was built, so ``taskgov recommend --show`` prints what the run printed) and :func:`list_runs`
summarizes them. Open the database with :func:`open_store`, which migrates it first.
"""

from __future__ import annotations

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
            row = conn.execute(
                "SELECT coalesce(max(run_id), 0) + 1 FROM recommendation_runs"
            ).fetchone()
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
        """
        INSERT INTO recommendation_runs VALUES (
            $run_id, $created_at, $kind, $location, $cluster, $origin, $since_s, $jobs,
            $window_start_s, $window_end_s, $policy_name, $policy, $cluster_spec, $settings,
            $status, $solver_parameters, $proposed
        )
        """,
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
        },
    )


def _insert_details(conn: Connection, run_id: int, rec: Recommendation, plan: Plan) -> None:
    for n, p in enumerate(plan.phases):
        conn.execute(
            "INSERT INTO recommendation_phases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, n, p.objective, p.description, p.status, p.value, p.bound, p.gap, p.wall_s],
        )
    for n, c in enumerate(plan.conflicts):
        conn.execute(
            "INSERT INTO recommendation_conflicts VALUES (?, ?, ?, ?)",
            [run_id, n, c.constraint, c.detail],
        )
    evidence = evidence_rows(rec)
    if evidence.height:
        columns = {name: evidence[name].to_list() for name in EVIDENCE_SCHEMA}
        conn.execute(
            """
            INSERT INTO recommendation_evidence
            SELECT $run_id, unnest($basis::VARCHAR[]), unnest($team::VARCHAR[]),
                unnest($instance_type::VARCHAR[]), unnest($metric::VARCHAR[]),
                unnest($value::DOUBLE[])
            """,
            {"run_id": run_id, **columns},
        )
    position = 0
    for n, t in enumerate(plan.teams):
        conn.execute(
            """
            INSERT INTO recommendation_teams VALUES (
                ?, ?, ?, ?, map(?::VARCHAR[], ?::BIGINT[]), map(?::VARCHAR[], ?::BIGINT[]),
                ?, ?, ?, ?, ?, ?, ?
            )
            """,
            [
                run_id,
                n,
                t.team,
                t.changed,
                list(t.current.nominal),
                list(t.current.nominal.values()),
                list(t.proposed.nominal),
                list(t.proposed.nominal.values()),
                t.current.borrow_limit_pct,
                t.proposed.borrow_limit_pct,
                t.current.fair_share_weight,
                t.proposed.fair_share_weight,
                list(t.why),
                t.aws_cli,
                t.kueue_patch,
            ],
        )
        for metric, (current, proposed) in t.effect.items():
            conn.execute(
                "INSERT INTO recommendation_effects VALUES (?, ?, ?, ?, ?, ?)",
                [run_id, t.team, position, metric, current, proposed],
            )
            position += 1
    position = 0
    for policy, numbers in plan.overall.items():
        for metric, value in numbers.items():
            whole = isinstance(value, int) and not isinstance(value, bool)
            conn.execute(
                "INSERT INTO recommendation_replay VALUES (?, ?, ?, ?, ?, ?)",
                [run_id, policy, position, metric, value, whole],
            )
            position += 1


def list_runs(conn: Connection) -> list[RunSummary]:
    """Every stored run, oldest first (none when the tables do not exist yet)."""
    if not _has_runs_table(conn):
        return []
    rows = conn.execute(
        """
        SELECT r.run_id, r.created_at, r.source_kind, r.source, r.cluster, r.origin, r.since_s,
            r.jobs, r.status, count(t.team) FILTER (WHERE t.changed)
        FROM recommendation_runs AS r
        LEFT JOIN recommendation_teams AS t USING (run_id)
        GROUP BY ALL
        ORDER BY r.run_id
        """
    ).fetchall()
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
    row = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'recommendation_runs'"
    ).fetchone()
    return bool(row and row[0])


def read_run(conn: Connection, run_id: int) -> StoredRun:
    """The stored run ``run_id``.

    Raises:
        InputError: there is no such run (the message names the runs there are).
    """
    row = (
        conn.execute(
            """
            SELECT run_id, created_at, source_kind, source, cluster, origin, since_s, jobs,
                window_start_s, window_end_s, policy_json, cluster_json, settings_json, status,
                solver_parameters, proposed_policy_json
            FROM recommendation_runs WHERE run_id = ?
            """,
            [run_id],
        ).fetchone()
        if _has_runs_table(conn)
        else None
    )
    if row is None:
        known = [r.run_id for r in list_runs(conn)]
        have = f"stored runs: {', '.join(map(str, known))}" if known else "no runs are stored"
        raise InputError([Fault("--show", str(run_id), "", f"no such run ({have})")])
    (
        _,
        created_at,
        kind,
        location,
        cluster_name,
        origin,
        since_s,
        jobs,
        window_start,
        window_end,
        policy_json,
        cluster_json,
        settings_json,
        status,
        parameters,
        proposed_json,
    ) = row
    plan = Plan(
        status=status,
        phases=_phases(conn, run_id),
        solver_parameters=parameters,
        conflicts=[
            ConflictView(constraint=c, detail=d)
            for c, d in conn.execute(
                "SELECT constraint_name, detail FROM recommendation_conflicts"
                " WHERE run_id = ? ORDER BY position",
                [run_id],
            ).fetchall()
        ],
        window_s=(window_start, window_end),
        overall=_overall(conn, run_id),
        teams=_teams(conn, run_id),
    )
    evidence_rows_ = conn.execute(
        "SELECT basis, team, instance_type, metric, value FROM recommendation_evidence"
        " WHERE run_id = ? ORDER BY basis, team, instance_type, metric",
        [run_id],
    ).fetchall()
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
        evidence=pl.DataFrame(evidence_rows_, schema=EVIDENCE_SCHEMA, orient="row"),
    )


def _phases(conn: Connection, run_id: int) -> list[PhaseView]:
    rows = conn.execute(
        "SELECT objective, description, status, value, bound, gap, wall_s"
        " FROM recommendation_phases WHERE run_id = ? ORDER BY position",
        [run_id],
    ).fetchall()
    return [
        PhaseView(objective=o, description=d, status=s, value=v, bound=b, gap=g, wall_s=w)
        for o, d, s, v, b, g, w in rows
    ]


def _overall(conn: Connection, run_id: int) -> dict[str, dict[str, float | int | None]]:
    overall: dict[str, dict[str, float | int | None]] = {}
    rows = conn.execute(
        "SELECT policy, metric, value, whole FROM recommendation_replay"
        " WHERE run_id = ? ORDER BY position",
        [run_id],
    ).fetchall()
    for policy, metric, value, whole in rows:
        number = int(value) if whole and value is not None and math.isfinite(value) else value
        overall.setdefault(policy, {})[metric] = number
    return overall


def _teams(conn: Connection, run_id: int) -> list[TeamPlan]:
    effects: dict[str, dict[str, tuple[float | None, float | None]]] = {}
    for team, metric, current, proposed in conn.execute(
        "SELECT team, metric, current_value, proposed_value FROM recommendation_effects"
        " WHERE run_id = ? ORDER BY position",
        [run_id],
    ).fetchall():
        effects.setdefault(team, {})[metric] = (current, proposed)
    rows = conn.execute(
        """
        SELECT team, changed, current_nominal, proposed_nominal, current_borrow_limit_pct,
            proposed_borrow_limit_pct, current_fair_share_weight, proposed_fair_share_weight,
            why, aws_cli, kueue_patch
        FROM recommendation_teams WHERE run_id = ? ORDER BY position
        """,
        [run_id],
    ).fetchall()
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
