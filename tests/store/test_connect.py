"""taskgov.store: readers wait a bounded time for the writer, then say what held them up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taskgov.errors import DatabaseError, InputError
from taskgov.store import (
    Owner,
    connect_read_only,
    connect_read_write,
    migrate,
    open_read_only,
    pending_versions,
)
from taskgov.store.migrations import schema_migrations

# Holds the file read-write (as the worker's sink does while it flushes) for argv[2] seconds.
_HOLDER = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
    " time.sleep(float(sys.argv[2])); c.close(); print('released', flush=True); sys.stdin.read()"
)


def _hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", _HOLDER, str(path), str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def _release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=10)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    with connect_read_write(path) as conn:
        migrate(conn)
    return path


def test_reader_waits_for_a_writer_that_lets_go(database: Path) -> None:
    holder = _hold(database, 0.5)
    try:
        with open_read_only(database, lock_wait_s=20) as conn:
            want_tables = conn.execute("SELECT count(*) FROM usage_minutes").fetchall()
    finally:
        _release(holder)

    assert want_tables == [(0,)]


def test_reader_gives_up_on_a_writer_that_keeps_the_file(database: Path) -> None:
    holder = _hold(database, 30)
    try:
        with pytest.raises(DatabaseError) as raised:
            connect_read_only(database, lock_wait_s=0.3)
    finally:
        holder.kill()
        _release(holder)

    assert (raised.value.path, raised.value.exit_code) == (str(database), 1)
    assert raised.value.problem.startswith("locked by another process: IO Error:")
    assert (
        "waited 0." in raised.value.problem and "the worker holds the file" in raised.value.problem
    )


def test_reader_names_the_tables_a_database_lacks(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    with connect_read_write(path) as conn:
        conn.execute("CREATE TABLE workload_events (x INTEGER)")

    with pytest.raises(InputError) as raised:
        connect_read_only(path, require_tables=("workload_events", "aggregate_state"))

    assert str(raised.value) == (
        f"--db, {path}: not a taskgov database: it lacks aggregate_state "
        "(the worker creates them: taskgov worker)"
    )


def test_optimizer_applies_only_its_own_schema_files(tmp_path: Path) -> None:
    path = tmp_path / "runs.duckdb"
    with connect_read_write(path) as conn:
        applied = migrate(conn, owner=Owner.OPTIMIZER)
        worker_pending = pending_versions(conn, owner=Owner.WORKER)
        optimizer_pending = pending_versions(conn, owner=Owner.OPTIMIZER)
        tables = sorted(
            r[0]
            for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
        )

    want_applied = [m.version for m in schema_migrations() if m.owner is Owner.OPTIMIZER]
    want_pending = [m.version for m in schema_migrations() if m.owner is Owner.WORKER]
    assert (applied, optimizer_pending, worker_pending) == (want_applied, [], want_pending)
    assert {3, 5} <= set(applied) and {1, 2, 4} <= set(worker_pending)
    assert all(t.startswith(("recommendation_", "apply_", "schema_migrations")) for t in tables)
    with pytest.raises(DatabaseError) as raised:
        open_read_only(path)
    assert raised.value.problem == (
        f"schema versions {want_pending} are not applied; start the worker to migrate"
    )
