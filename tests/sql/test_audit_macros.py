"""The macros the audits compare through (sql/views): multiset_differences is two EXCEPT ALLs,
workload_rows_in_scope a semi-join on the changed Workloads or every row."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.sink_duckdb import DuckDBSink
from taskgov.store import Connection

# Rows from small domains, so the two bags share rows and repeat them; NULL matches NULL.
Row = tuple[int | None, str | None]
ROWS = st.lists(
    st.tuples(st.sampled_from([1, 2, None]), st.sampled_from(["x", "y", None])), max_size=8
)


@pytest.fixture(scope="module")
def conn() -> Iterator[Connection]:
    """One migrated in-memory database for the module (migrating per example is slow)."""
    with DuckDBSink(":memory:") as sink:
        yield sink.connection


def bag(conn: Connection, name: str, rows: list[Row]) -> None:
    """Table ``name`` holding ``rows``, repeats kept."""
    conn.execute(f"CREATE OR REPLACE TABLE {name} (i INTEGER, s VARCHAR)")
    if rows:
        conn.executemany(f"INSERT INTO {name} VALUES (?, ?)", rows)


@settings(max_examples=80, deadline=None)
@given(derived=ROWS, stored=ROWS)
def test_multiset_differences_is_except_all_both_ways(
    conn: Connection, derived: list[Row], stored: list[Row]
) -> None:
    bag(conn, "derived", derived)
    bag(conn, "stored", stored)
    want = conn.execute(
        "SELECT 'missing', * FROM (FROM derived EXCEPT ALL FROM stored)"
        " UNION ALL SELECT 'extra', * FROM (FROM stored EXCEPT ALL FROM derived) ORDER BY ALL"
    ).fetchall()

    got = conn.execute("FROM multiset_differences('derived', 'stored') ORDER BY ALL").fetchall()

    assert got == want


@pytest.mark.parametrize(
    ("whole", "want_rows"),
    [
        pytest.param(
            True,
            [("k", "a", 1), ("k", "a", 2), ("k", "b", 3), ("k", "c", 4), ("other", "c", 5)],
            id="a whole audit reads every row",
        ),
        pytest.param(
            False,
            [("k", "a", 1), ("k", "a", 2), ("k", "c", 4)],
            id="a scoped audit reads the changed Workloads' rows, by cluster and uid",
        ),
    ],
)
def test_workload_rows_in_scope_reads_the_workloads_asked(
    conn: Connection, whole: bool, want_rows: list[tuple[str, str, int]]
) -> None:
    conn.execute(
        "CREATE OR REPLACE TABLE workload_rows AS FROM (VALUES ('k', 'a', 1), ('k', 'a', 2),"
        " ('k', 'b', 3), ('k', 'c', 4), ('other', 'c', 5)) t(cluster, uid, n)"
    )
    conn.execute(
        "CREATE OR REPLACE TABLE changed AS"
        " FROM (VALUES ('k', 'a'), ('k', 'c'), ('other', 'b')) t(cluster, uid)"
    )

    got = conn.execute(
        "FROM workload_rows_in_scope('workload_rows', 'changed', $whole) ORDER BY n",
        {"whole": whole},
    ).fetchall()

    assert got == want_rows
