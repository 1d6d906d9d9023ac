"""taskgov.store.migrations: numbered schema files once, views every time, in dependency order."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from streams.sink_duckdb import DuckDBSink
from taskgov.store import SQL_DIR
from taskgov.store.migrations import (
    MigrationError,
    derived_files,
    migrate,
    pending_versions,
    schema_migrations,
)
from tests.sql.scenarios import random_events


@pytest.fixture
def sql_dir(tmp_path: Path) -> Path:
    """A copy of the real sql/ folder that a test may change."""
    copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, copy)
    return copy


def test_migrate_applies_every_schema_file_once() -> None:
    conn = duckdb.connect()
    want_versions = [m.version for m in schema_migrations()]

    first = migrate(conn)
    second = migrate(conn)

    assert first == want_versions
    assert second == []
    assert pending_versions(conn) == []
    recorded = conn.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()
    assert recorded == [(m.version, m.name) for m in schema_migrations()]


def test_migrate_keeps_data_and_survives_reopening(tmp_path: Path) -> None:
    path = str(tmp_path / "db.duckdb")
    with duckdb.connect(path) as conn:
        migrate(conn)
        conn.execute("INSERT INTO aggregate_state VALUES ('watermark', TIMESTAMP '2024-05-01')")

    with duckdb.connect(path) as conn:
        applied = migrate(conn)
        got = conn.execute("SELECT name FROM aggregate_state").fetchall()

    assert applied == []
    assert got == [("watermark",)]


def test_migrate_applies_only_a_new_schema_file(sql_dir: Path) -> None:
    conn = duckdb.connect()
    migrate(conn, sql_dir=sql_dir)
    (sql_dir / "schema" / "900_notes.sql").write_text(
        "CREATE TABLE IF NOT EXISTS notes (body VARCHAR);\n"
    )

    applied = migrate(conn, sql_dir=sql_dir)

    assert applied == [900]
    assert conn.execute("SELECT count(*) FROM notes").fetchall() == [(0,)]


def test_migrate_refuses_an_applied_file_that_changed(sql_dir: Path) -> None:
    conn = duckdb.connect()
    migrate(conn, sql_dir=sql_dir)
    first = sorted((sql_dir / "schema").glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")

    with pytest.raises(MigrationError) as raised:
        migrate(conn, sql_dir=sql_dir)

    assert raised.value.file == f"schema/{first.name}"
    assert raised.value.exit_code == 1


def test_migrate_rolls_back_a_failing_file(sql_dir: Path) -> None:
    conn = duckdb.connect()
    migrate(conn, sql_dir=sql_dir)
    (sql_dir / "schema" / "901_broken.sql").write_text(
        "CREATE TABLE half (x INTEGER);\nCREATE TABLE broken (x NOT_A_TYPE);\n"
    )

    with pytest.raises(duckdb.Error):
        migrate(conn, sql_dir=sql_dir)

    assert pending_versions(conn, sql_dir) == [901]
    tables = conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
    assert ("half",) not in tables


@pytest.mark.parametrize(
    "name",
    [pytest.param("1_short.sql", id="a short number"), pytest.param("001-dash.sql", id="a dash")],
)
def test_schema_migrations_reject_misnamed_files(sql_dir: Path, name: str) -> None:
    (sql_dir / "schema" / name).write_text("SELECT 1;\n")

    with pytest.raises(MigrationError):
        schema_migrations(sql_dir)


def test_derived_files_come_after_what_they_use() -> None:
    order = [f.path.name for f in derived_files()]

    assert order.index("workload_phase.sql") < order.index("v_workload_intervals.sql")
    assert order.index("pending_cause.sql") < order.index("v_workload_intervals.sql")
    assert order.index("v_quota_history.sql") < order.index("usage_steps_between.sql")
    assert order.index("lent_share.sql") < order.index("usage_minutes_from_steps.sql")


def test_derived_files_refuse_a_cycle(sql_dir: Path) -> None:
    views = sql_dir / "views"
    (views / "v_first.sql").write_text(
        "CREATE OR REPLACE VIEW v_first AS SELECT * FROM v_second;\n"
    )
    (views / "v_second.sql").write_text(
        "CREATE OR REPLACE VIEW v_second AS SELECT * FROM v_first;\n"
    )

    with pytest.raises(MigrationError) as raised:
        derived_files(sql_dir)

    assert "v_first.sql" in raised.value.file


def test_migrate_rebuilds_aggregates_once_when_a_schema_file_asks(tmp_path: Path) -> None:
    path = str(tmp_path / "db.duckdb")
    with DuckDBSink(path) as sink:
        sink.add_all(random_events(3, workloads=10))
    with duckdb.connect(path) as conn:
        want = conn.execute("SELECT * FROM usage_minutes ORDER BY ALL").fetchall()
        # As a schema file that changes how minutes are derived leaves things: stale minutes
        # and the request.
        conn.execute("DELETE FROM usage_minutes WHERE team = 'team-a'")
        conn.execute("INSERT INTO aggregate_state VALUES ('rebuild_requested', now()::TIMESTAMP)")

        migrate(conn)
        got = conn.execute("SELECT * FROM usage_minutes ORDER BY ALL").fetchall()
        left = conn.execute("SELECT name FROM aggregate_state ORDER BY name").fetchall()

    assert len(want) > 100
    assert got == want
    assert left == [("watermark",)]
