"""``taskgov sql``: only reads pass the parse-tree check, and a query runs within its bounds."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from streams.sink_duckdb import DuckDBSink
from taskgov.errors import InputError
from taskgov.store.read_only_query import QueryLimits, bounded, check_select_only

TASKGOV = str(Path(sys.executable).with_name("taskgov"))

REJECTED_CASES = [
    pytest.param(
        "WITH d AS (DELETE FROM usage_minutes RETURNING *) SELECT * FROM d",
        "sql: only reading is allowed, but the query holds a DELETE",
        id="a DELETE ... RETURNING in a CTE, whose statement type is SELECT",
    ),
    pytest.param(
        "WITH u AS MATERIALIZED (UPDATE usage_minutes SET team = 'x' RETURNING *) SELECT 1",
        "sql: only reading is allowed, but the query holds a UPDATE",
        id="an UPDATE in a materialized CTE",
    ),
    pytest.param(
        "SELECT * FROM usage_minutes WHERE team IN "
        "(WITH q AS (INSERT INTO usage_minutes DEFAULT VALUES RETURNING team) SELECT team FROM q)",
        "sql: only reading is allowed, but the query holds a INSERT",
        id="an INSERT in a subquery's CTE",
    ),
    pytest.param(
        "DELETE FROM usage_minutes", "sql: only SELECT is allowed, found DELETE", id="a DELETE"
    ),
    pytest.param("PRAGMA version", "sql: only SELECT is allowed, found PRAGMA", id="a PRAGMA"),
    pytest.param(
        "SELECT 1; DROP TABLE usage_minutes",
        "sql: give exactly one SELECT statement, found 2",
        id="a SELECT then a DROP",
    ),
    pytest.param(
        "SELEC 1",
        'sql: not valid SQL: Parser Error: syntax error at or near "SELEC" LINE 1: SELEC 1 ^^^^^',
        id="not SQL, with the whole parser message",
    ),
    pytest.param(
        "SELECT " + "(" * 3000 + "1" + ")" * 3000,
        'sql: not valid SQL: Parser Error: Max expression depth limit of 1000 exceeded. Use "SET max_expression_depth TO x" to increase the maximum expression depth.',
        id="parentheses 3,000 deep",
    ),
]


@pytest.mark.parametrize(("query", "want_fault"), REJECTED_CASES)
def test_sql_that_is_not_one_read_is_rejected(query: str, want_fault: str) -> None:
    with pytest.raises(InputError) as raised:
        check_select_only(query)
    assert [str(fault) for fault in raised.value.faults] == [want_fault]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("WITH x AS (SELECT 1 AS a) SELECT a FROM x", id="a CTE that reads"),
        pytest.param(
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
            "SELECT * FROM r",
            id="a recursive CTE",
        ),
        pytest.param("SELECT 1 UNION SELECT 2 EXCEPT SELECT 3", id="set operations"),
        pytest.param("FROM usage_minutes", id="DuckDB's FROM-first SELECT"),
    ],
)
def test_sql_that_only_reads_passes(query: str) -> None:
    check_select_only(query)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """An empty database migrated by the real sink."""
    path = tmp_path / "taskgov.duckdb"
    with DuckDBSink(path):
        pass
    return path


BOUND_CASES = [
    pytest.param(
        "SELECT count(*) FROM range(100000000000000)",
        QueryLimits("1GB", 0.5),
        "sql: the query ran past the 0.5 s limit and was stopped (--timeout, setting sql_timeout_s)",
        id="a query past its time is interrupted",
    ),
    pytest.param(
        "SELECT length(string_agg(repeat('x', 1000000), '')) FROM range(1000)",
        QueryLimits("64MB", 30),
        "sql: the query needs more memory than the 64MB limit (--memory-limit, setting sql_memory_limit): Out of Memory Error: failed to allocate data of size 32.0 MiB",
        id="an aggregate past DuckDB's memory limit",
    ),
    pytest.param(
        "SELECT repeat('x', 2000000000)",
        QueryLimits("64MB", 30),
        "sql: the query needs more memory than the 64MB limit (--memory-limit, setting sql_memory_limit): Out of Memory Error: failed to allocate data of size 2.0 GiB",
        id="one 2 GB value",
    ),
    pytest.param(
        "SELECT * FROM nope",
        QueryLimits(),
        'sql: Catalog Error: Table with name nope does not exist! Did you mean "pg_enum"? LINE 1: SELECT * FROM nope ^^^^',
        id="an error keeps its whole text, hint and position included",
    ),
]


@pytest.mark.parametrize(("query", "limits", "want_start"), BOUND_CASES)
def test_sql_past_its_bounds_stops_with_the_limit_named(
    database: Path, query: str, limits: QueryLimits, want_start: str
) -> None:
    data_limit = resource.getrlimit(resource.RLIMIT_DATA)
    conn = duckdb.connect(str(database), read_only=True)
    try:
        with pytest.raises(InputError) as raised, bounded(conn, limits):
            conn.execute(query).fetchall()
    finally:
        conn.close()
    message = str(raised.value)
    assert message[: len(want_start)] == want_start
    assert resource.getrlimit(resource.RLIMIT_DATA) == data_limit


@pytest.mark.parametrize(
    ("memory_limit", "timeout_s", "want_fault"),
    [
        pytest.param(
            "lots",
            30.0,
            "sql: memory limit 'lots' is not a size such as 512MB or 2GiB",
            id="no size",
        ),
        pytest.param(
            "1GB", 0.0, "sql: timeout must be a positive number of seconds, got 0.0", id="no time"
        ),
        pytest.param(
            "1GB",
            float("nan"),
            "sql: timeout must be a positive number of seconds, got nan",
            id="NaN seconds",
        ),
    ],
)
def test_sql_limits_that_are_no_bounds_are_refused(
    memory_limit: str, timeout_s: float, want_fault: str
) -> None:
    with pytest.raises(InputError) as raised:
        QueryLimits(memory_limit, timeout_s)
    assert [str(fault) for fault in raised.value.faults] == [want_fault]


def test_sql_within_bounds_answers_and_locks_the_configuration(database: Path) -> None:
    conn = duckdb.connect(str(database), read_only=True)
    with bounded(conn, QueryLimits("256MB", 30)):
        rows = conn.execute("SELECT current_setting('memory_limit')").fetchall()
    with pytest.raises(duckdb.InvalidInputException):
        conn.execute("SET memory_limit = '100GB'")
    conn.close()
    assert rows == [("244.1 MiB",)]


def test_sql_command_exits_2_on_a_write_hidden_in_a_cte_and_on_a_timeout(database: Path) -> None:
    """Through the installed script: the DELETE is refused before the database is opened, and
    a long query is stopped by --timeout."""
    hidden_delete = subprocess.run(
        [TASKGOV, "sql", "WITH d AS (DELETE FROM usage_minutes RETURNING *) SELECT * FROM d",
         "--db", str(database)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    slow = subprocess.run(
        [TASKGOV, "sql", "SELECT count(*) FROM range(100000000000000)", "--timeout", "0.5",
         "--db", str(database)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert [(r.returncode, r.stderr.strip()) for r in (hidden_delete, slow)] == [
        (2, "error: sql: only reading is allowed, but the query holds a DELETE"),
        (
            2,
            "error: sql: the query ran past the 0.5 s limit and was stopped "
            "(--timeout, setting sql_timeout_s)",
        ),
    ]


# Holds the database read-write, as the worker's sink does while it flushes, then lets go.
_HOLDER = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
    " time.sleep(1.0); c.close()"
)


def test_sql_waits_for_the_writer_instead_of_failing_on_its_lock(database: Path) -> None:
    """Issue 17, item 8, through the script: a reader started while the writer holds the file
    waits (the store's bounded retry) and answers, instead of failing on DuckDB's lock."""
    holder = subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", _HOLDER, str(database)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    try:
        done = subprocess.run(
            [TASKGOV, "sql", "SELECT count(*) AS n FROM usage_minutes", "-o", "csv",
             "--db", str(database)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        holder.wait(timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (0, "n\n0\n", "")
