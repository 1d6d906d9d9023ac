"""optimizer.store: a recommendation run stored in DuckDB reads back equal, and SQL sees it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from optimizer.demand import FrameDemandSource
from optimizer.plan import build_plan
from optimizer.recommend import Recommendation, recommend
from optimizer.settings import OptimizerSettings, SolverSettings
from optimizer.store import (
    RunSource,
    RunSummary,
    evidence_rows,
    list_runs,
    open_store,
    read_run,
    save_run,
)
from taskgov.errors import DatabaseError, InputError
from taskgov.store import SQL_DIR, migrate, pending_versions
from tests.optimizer.builders import (
    P4D,
    daily,
    history,
    make_cluster,
    two_teams_no_borrowing,
)

SETTINGS = OptimizerSettings(solver=SolverSettings(num_workers=1))
SOURCE = RunSource("duckdb", "taskgov.duckdb", "test-cluster", datetime(2025, 1, 1), 3600.0)
CREATED = datetime(2025, 1, 3, 12, 30, tzinfo=UTC)


def _recommend(settings: OptimizerSettings = SETTINGS) -> Recommendation:
    """Two days: team-a runs one 8-GPU job a day on 2 instances, team-b three on 1."""
    jobs = history(
        *daily("team-a", 2, submit_h=0, start_h=0, end_h=8),
        *daily("team-b", 2, submit_h=0, start_h=0, end_h=8),
        *daily("team-b", 2, submit_h=0, start_h=8, end_h=16),
        *daily("team-b", 2, submit_h=0, start_h=16, end_h=24),
    )
    return recommend(FrameDemandSource(jobs), two_teams_no_borrowing(), make_cluster(3), settings)


def test_a_stored_run_reads_back_equal(tmp_path: Path) -> None:
    rec = _recommend()
    plan = build_plan(rec, SETTINGS)

    with open_store(tmp_path / "runs.duckdb") as conn:
        run_id = save_run(conn, rec, plan, SETTINGS, SOURCE, created_at=CREATED)
        stored = read_run(conn, run_id)

    assert (
        stored.run_id,
        stored.created_at,
        stored.source,
        stored.jobs,
        stored.policy,
        stored.cluster,
        stored.settings,
        stored.proposed,
    ) == (
        1,
        datetime(2025, 1, 3, 12, 30),
        SOURCE,
        8,
        rec.policy,
        rec.cluster,
        SETTINGS,
        rec.proposed,
    )
    assert stored.plan == plan
    assert stored.plan.model_dump_json() == plan.model_dump_json()
    assert stored.evidence.equals(evidence_rows(rec))


@pytest.mark.parametrize(
    ("basis", "team", "metric", "want"),
    [
        pytest.param("model", "team-a", "current", 2.0, id="team-a's count today"),
        pytest.param("model", "team-b", "sustained_acc", 24.0, id="team-b's sustained demand"),
        pytest.param("model", "team-b", "largest_acc", 8.0, id="team-b's largest job"),
        pytest.param("model", "team-b", "floor", None, id="no floor set"),
        pytest.param("demand", "team-b", "demand_p75", 24.0, id="team-b's p75 demand"),
        pytest.param("demand", "team-b", "starved_h", 32.0, id="team-b starved beside idle"),
        pytest.param("demand", "team-a", "jobs", 2.0, id="team-a's jobs"),
        pytest.param(
            "demand", "team-b", "wait_p95_guaranteed_s", None, id="no job within guarantee"
        ),
    ],
)
def test_the_evidence_holds_the_numbers_the_model_read(
    tmp_path: Path, basis: str, team: str, metric: str, want: float | None
) -> None:
    rec = _recommend()
    with open_store(tmp_path / "runs.duckdb") as conn:
        run_id = save_run(conn, rec, build_plan(rec, SETTINGS), SETTINGS, SOURCE)
        got = conn.execute(
            "SELECT value FROM recommendation_evidence"
            " WHERE run_id = ? AND basis = ? AND team = ? AND instance_type = ? AND metric = ?",
            [run_id, basis, team, P4D, metric],
        ).fetchall()

    assert got == [(want,)]


def test_plain_sql_reads_the_plan_phases_and_replay(tmp_path: Path) -> None:
    rec = _recommend()
    plan = build_plan(rec, SETTINGS)
    with open_store(tmp_path / "runs.duckdb") as conn:
        save_run(conn, rec, plan, SETTINGS, SOURCE)
        teams = conn.execute(
            "SELECT team, changed, current_nominal, proposed_nominal, proposed_borrow_limit_pct"
            " FROM recommendation_teams ORDER BY position"
        ).fetchall()
        phases = conn.execute(
            "SELECT objective, status, value, bound, gap FROM recommendation_phases"
            " ORDER BY position"
        ).fetchall()
        replayed = conn.execute(
            "SELECT policy, value FROM recommendation_replay WHERE metric = 'starved_team_h'"
            " ORDER BY position"
        ).fetchall()
        effects = conn.execute(
            "SELECT team, current_value, proposed_value FROM recommendation_effects"
            " WHERE metric = 'wait_p95_s' ORDER BY position"
        ).fetchall()

    # Plain SQL reads back exactly what the plan said (the recommender decides the values;
    # tests/optimizer/test_recommend.py pins them).
    assert teams == [
        (
            t.team,
            t.changed,
            dict(t.current.nominal),
            dict(t.proposed.nominal),
            t.proposed.borrow_limit_pct,
        )
        for t in plan.teams
    ]
    assert [t for t, *_ in teams] == ["team-a", "team-b"]
    assert phases == [(p.objective, p.status, p.value, p.bound, p.gap) for p in plan.phases]
    assert [o for o, *_ in phases] == [
        "runnable",
        "coverage",
        "starvation",
        "change",
        "borrow_limit",
    ]
    assert replayed == [
        (name, plan.overall[name]["starved_team_h"]) for name in ("current", "proposed")
    ]
    assert effects == [
        (t.team, *t.effect["wait_p95_s"]) for t in plan.teams if "wait_p95_s" in t.effect
    ]


def test_an_infeasible_run_is_stored_with_its_conflicts(tmp_path: Path) -> None:
    settings = SETTINGS.model_copy(update={"floors": {"team-a": {"*": 2}, "team-b": {P4D: 2}}})
    rec = _recommend(settings)
    plan = build_plan(rec, settings)

    with open_store(tmp_path / "runs.duckdb") as conn:
        stored = read_run(conn, save_run(conn, rec, plan, settings, SOURCE))

    assert (stored.plan, stored.settings, stored.proposed) == (plan, settings, None)
    assert (stored.plan.status, [c.constraint for c in stored.plan.conflicts]) == (
        "infeasible",
        [f"capacity[{P4D}]", f"floor[team-a,{P4D}]", f"floor[team-b,{P4D}]"],
    )


def test_runs_are_numbered_and_listed_in_order(tmp_path: Path) -> None:
    rec = _recommend()
    plan = build_plan(rec, SETTINGS)
    trace = RunSource("trace", "trace.csv")

    with open_store(tmp_path / "runs.duckdb") as conn:
        first = save_run(conn, rec, plan, SETTINGS, SOURCE, created_at=CREATED)
        # A naive time is UTC already.
        second = save_run(conn, rec, plan, SETTINGS, trace, created_at=datetime(2025, 1, 3, 12, 30))
        listed = list_runs(conn)

    when = datetime(2025, 1, 3, 12, 30)
    assert (first, second) == (1, 2)
    assert listed == [
        RunSummary(
            1,
            when,
            "duckdb",
            "taskgov.duckdb",
            "test-cluster",
            datetime(2025, 1, 1),
            3600.0,
            8,
            "optimal",
            2,
        ),
        RunSummary(2, when, "trace", "trace.csv", None, None, None, 8, "optimal", 2),
    ]


@pytest.mark.parametrize(
    ("stored_runs", "want"),
    [
        pytest.param(0, "--show, 7: no such run (no runs are stored)", id="none stored"),
        pytest.param(2, "--show, 7: no such run (stored runs: 1, 2)", id="others stored"),
    ],
)
def test_reading_an_unknown_run_names_the_stored_ones(
    tmp_path: Path, stored_runs: int, want: str
) -> None:
    rec = _recommend()
    plan = build_plan(rec, SETTINGS)
    with open_store(tmp_path / "runs.duckdb") as conn:
        for _ in range(stored_runs):
            save_run(conn, rec, plan, SETTINGS, SOURCE)
        with pytest.raises(InputError) as raised:
            read_run(conn, 7)

    assert (str(raised.value), raised.value.exit_code) == (want, 2)


def test_open_store_migrates_a_database_made_before_runs_were_stored(tmp_path: Path) -> None:
    older = tmp_path / "sql"
    shutil.copytree(SQL_DIR, older)
    for made_after in ("003_recommendations.sql", "007_recommendation_plan_notes.sql"):
        (older / "schema" / made_after).unlink()
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as conn:
        applied_before = migrate(conn, sql_dir=older)

    with open_store(path, read_only=True) as conn:
        listed_before = list_runs(conn)
    with open_store(path) as conn:
        pending = pending_versions(conn)
        recorded = conn.execute("SELECT name FROM schema_migrations WHERE version = 3").fetchall()
        listed_after = list_runs(conn)

    assert (3 in applied_before, listed_before) == (False, [])
    assert (pending, recorded, listed_after) == ([], [("recommendations",)], [])


def test_open_store_read_only_needs_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.duckdb"

    with pytest.raises(InputError) as raised, open_store(path, read_only=True):
        pass

    assert (str(raised.value), path.exists()) == (f"--db, {path}: no such database", False)


def test_open_store_gives_up_on_a_file_another_process_holds(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(DatabaseError) as raised, open_store(path, lock_wait_s=0.3):
            pass
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)

    assert (raised.value.path, raised.value.exit_code) == (str(path), 1)
    assert raised.value.problem.startswith(
        "locked by another process: IO Error: Could not set lock"
    )


def test_evidence_is_long_with_one_number_a_row() -> None:
    evidence = evidence_rows(_recommend())

    assert evidence.schema == pl.Schema(
        {
            "basis": pl.String,
            "team": pl.String,
            "instance_type": pl.String,
            "metric": pl.String,
            "value": pl.Float64,
        }
    )
    assert evidence.select("basis", "team").unique().sort("basis", "team").rows() == [
        ("demand", "team-a"),
        ("demand", "team-b"),
        ("model", "team-a"),
        ("model", "team-b"),
    ]
    assert evidence.select("basis", "team", "instance_type", "metric").is_duplicated().sum() == 0
