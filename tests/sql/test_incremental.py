"""The sink's O(batch) refresh: what it keeps beside the aggregates stays exact.

The sink reads only the log's tail per batch, through two tables of its own:
``workload_first_events`` (a lower bound of each Workload's rows) and
``open_workload_intervals`` (the stretches still open). Whatever order and batching events
arrive in, late or redelivered, both must equal what a rebuild from the log gives, and every
audit must stay empty.
"""

from __future__ import annotations

import random

import duckdb
import pytest

from streams.events import ClusterQueueEvent, WorkloadEvent
from streams.sink_duckdb import DuckDBSink
from taskgov.store import SQL_DIR, rebuild_aggregates
from tests.sql.scenarios import random_events

KEPT = ("workload_first_events", "open_workload_intervals", "workload_intervals", "usage_minutes")


def kept(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[object, ...]]]:
    """The sink's incremental tables, rows sorted."""
    return {table: sorted(conn.table(table).fetchall(), key=repr) for table in KEPT}


def audit_rows(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows each audit finds (all should be 0)."""
    return {
        path.stem: len(conn.execute(path.read_text()).fetchall())
        for path in sorted((SQL_DIR / "audits").glob("*.sql"))
    }


def batches(
    events: list[WorkloadEvent | ClusterQueueEvent], seed: int
) -> list[list[WorkloadEvent | ClusterQueueEvent]]:
    """The events in time order, cut into batches of 1 to 40, with one batch in five sent
    again later and one in ten held back to arrive at the end (late, out of order)."""
    rng = random.Random(seed)
    ordered = sorted(events, key=lambda e: e.occurred_at)
    cuts: list[list[WorkloadEvent | ClusterQueueEvent]] = []
    start = 0
    while start < len(ordered):
        size = rng.randint(1, 40)
        cuts.append(ordered[start : start + size])
        start += size
    late = [cut for cut in cuts if rng.random() < 0.1]
    on_time = [cut for cut in cuts if all(cut is not other for other in late)]
    again = [cut for cut in on_time if rng.random() < 0.2]
    return on_time + again + late[::-1]


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed {s}") for s in (1, 2, 3)])
def test_incremental_tables_equal_a_rebuild_after_late_and_redelivered_batches(
    seed: int,
) -> None:
    events = random_events(seed)
    with DuckDBSink(":memory:") as sink:
        for batch in batches(events, seed):
            sink.add_all(batch)
            sink.flush()
        conn = sink.connection
        got = kept(conn)
        got_audits = audit_rows(conn)
        rebuild_aggregates(conn)
        want = kept(conn)
    assert got == want
    assert got_audits == dict.fromkeys(got_audits, 0)


def test_incremental_open_stretches_are_exactly_those_without_an_end() -> None:
    with DuckDBSink(":memory:") as sink:
        for batch in batches(random_events(5), 5):
            sink.add_all(batch)
            sink.flush()
        conn = sink.connection
        open_rows = sorted(conn.table("open_workload_intervals").fetchall(), key=repr)
        want_rows = sorted(
            conn.sql("SELECT * FROM workload_intervals WHERE end_at IS NULL").fetchall(), key=repr
        )
    assert open_rows == want_rows
    assert len(want_rows) > 0
