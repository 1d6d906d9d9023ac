"""``taskgov audit`` through the installed script: every audit's result and the exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from streams.sink_duckdb import DuckDBSink
from taskgov.store.audits import audit_names
from tests.sql.scenarios import random_events

TASKGOV = str(Path(sys.executable).with_name("taskgov"))
LOG_AUDIT = "assert_aggregates_match_log"
# Damage only the log audit sees: one stretch gone from the aggregates.
DROP_A_STRETCH = (
    "DELETE FROM workload_intervals WHERE rowid = (SELECT min(rowid) FROM workload_intervals)"
)


def record(path: Path, damage: str | None = None) -> Path:
    """A record of a random scenario's events, optionally damaged by one statement."""
    with DuckDBSink(path) as sink:
        sink.add_all(random_events(7))
    if damage:
        with duckdb.connect(str(path)) as conn:
            conn.execute(damage)
    return path


def audit(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TASKGOV, "audit", "--db", str(db), *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("damage", "want_exit", "want_failed"),
    [
        pytest.param(None, 0, set(), id="a record as the sink wrote it passes every audit"),
        pytest.param(
            DROP_A_STRETCH,
            6,
            {LOG_AUDIT},
            id="a stretch missing from the aggregates fails the log audit, exit 6",
        ),
    ],
)
def test_audit_results_and_exit_code(
    tmp_path: Path, damage: str | None, want_exit: int, want_failed: set[str]
) -> None:
    db = record(tmp_path / "r.duckdb", damage)

    result = audit(db, "-o", "json")

    assert result.returncode == want_exit, result.stderr
    rows = json.loads(result.stdout)
    assert [r["audit"] for r in rows] == audit_names()
    assert {r["audit"] for r in rows if r["result"] == "failed"} == want_failed
    assert all((r["rows"] > 0) == (r["audit"] in want_failed) for r in rows)
    assert all(len(r["found"]) == min(r["rows"], 20) for r in rows)


def test_after_a_pass_only_changes_are_checked_unless_whole(tmp_path: Path) -> None:
    db = record(tmp_path / "r.duckdb")
    assert audit(db).returncode == 0  # records a pass of the log audit
    with duckdb.connect(str(db)) as conn:  # damage nothing the sink changed since
        conn.execute(DROP_A_STRETCH)

    incremental, whole = audit(db, "-o", "csv"), audit(db, "--whole", "-o", "csv")

    assert incremental.returncode == 0, incremental.stdout
    assert whole.returncode == 6
    assert whole.stdout.splitlines()[0] == "audit,result,rows"
    assert f"{LOG_AUDIT},failed," in whole.stdout


@pytest.mark.parametrize(
    ("setup", "want_exit", "want_error"),
    [
        pytest.param("missing", 2, "error: --db, {db}: no such database", id="no database there"),
        pytest.param(
            "held", 1, "error: {db}:", id="the worker (another process) holds the file for writing"
        ),
    ],
)
def test_audit_refuses_what_it_cannot_open(
    tmp_path: Path, setup: str, want_exit: int, want_error: str
) -> None:
    db = tmp_path / "r.duckdb"
    holder = None
    if setup == "held":
        record(db)
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import duckdb,time; c=duckdb.connect({str(db)!r}); print(1, flush=True); time.sleep(60)",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "1"
    try:
        result = audit(db)
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()

    assert result.returncode == want_exit, result.stderr
    assert result.stderr.startswith(want_error.format(db=db)), result.stderr
    assert "Traceback" not in result.stderr
