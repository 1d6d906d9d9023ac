"""The sink's O(batch) refresh: what it keeps beside the aggregates stays exact.

The sink reads only the log's tail per batch, through two tables of its own:
``workload_first_events`` (a lower bound of each Workload's rows) and
``open_workload_intervals`` (the stretches still open). Whatever order and batching events
arrive in, late or redelivered, both must equal what a rebuild from the log gives, and every
audit must stay empty. The log has no index over event ids: a stored version is found among
its Workload's events, so a record pre-loaded with history must still hold every id once. The
log-vs-aggregates audit checks, after a recorded pass, only what changed since.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import timedelta

import duckdb
import pytest

from streams.events import ClusterQueueEvent, WorkloadEvent, event_id
from streams.sink_duckdb import DuckDBSink
from taskgov.store import SQL_DIR, audit_aggregates, rebuild_aggregates
from tests.sql.scenarios import random_events

Event = WorkloadEvent | ClusterQueueEvent
EARLIER = timedelta(days=2)
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


def store_batches(sink: DuckDBSink, cuts: Iterable[Sequence[Event]]) -> None:
    """Add and flush each batch in turn, as the worker does once per poll."""
    for batch in cuts:
        sink.add_all(batch)
        sink.flush()


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed {s}") for s in (1, 2, 3)])
def test_incremental_tables_equal_a_rebuild_after_late_and_redelivered_batches(
    seed: int,
) -> None:
    events = random_events(seed)
    with DuckDBSink(":memory:") as sink:
        store_batches(sink, batches(events, seed))
        conn = sink.connection
        got = kept(conn)
        got_audits = audit_rows(conn)
        rebuild_aggregates(conn)
        want = kept(conn)
    assert got == want
    assert got_audits == dict.fromkeys(got_audits, 0)


def test_incremental_open_stretches_are_exactly_those_without_an_end() -> None:
    with DuckDBSink(":memory:") as sink:
        store_batches(sink, batches(random_events(5), 5))
        conn = sink.connection
        open_rows = sorted(conn.table("open_workload_intervals").fetchall(), key=repr)
        want_rows = sorted(
            conn.sql("SELECT * FROM workload_intervals WHERE end_at IS NULL").fetchall(), key=repr
        )
    assert open_rows == want_rows
    assert len(want_rows) > 0


def history(workloads: int) -> list[WorkloadEvent | ClusterQueueEvent]:
    """A record to pre-load: ``workloads`` Workloads of another cluster, two days earlier."""
    moved: list[WorkloadEvent | ClusterQueueEvent] = []
    for e in random_events(99, workloads):
        times = {"occurred_at": e.occurred_at - EARLIER, "observed_at": e.observed_at - EARLIER}
        if isinstance(e, WorkloadEvent):
            ident = event_id("history", e.uid, e.event_type, e.ordinal)
            moved.append(e.model_copy(update={**times, "cluster": "history", "event_id": ident}))
        else:
            ident = f"history-{e.event_id}"
            moved.append(e.model_copy(update={**times, "cluster": "history", "event_id": ident}))
    return moved


def stored_ids(conn: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Workload events stored, and distinct ids among them."""
    row = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM workload_events").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.mark.parametrize(
    ("seed", "replayed_uids"),
    [
        pytest.param(1, 60, id="new events on 3,000 stored ones, 60 old Workloads replayed"),
    ],
)
def test_preloaded_record_keeps_each_id_once_and_equals_a_rebuild(
    seed: int, replayed_uids: int
) -> None:
    with DuckDBSink(":memory:") as sink:
        conn = sink.connection
        stored_history = history(500)
        sink.add_all(stored_history)
        sink.flush()
        assert audit_aggregates(conn) == []
        old_uids = sorted({e.uid for e in stored_history if isinstance(e, WorkloadEvent)})
        old = [
            e
            for e in stored_history
            if isinstance(e, WorkloadEvent) and e.uid in old_uids[:replayed_uids]
        ]
        # A better version of one old event (seen earlier) must replace the stored one.
        better = old[0].model_copy(update={"observed_at": old[0].observed_at - timedelta(hours=1)})
        new = random_events(seed)
        store_batches(sink, batches([*new, *old, better], seed))
        got_count, got_distinct = stored_ids(conn)
        got_incremental = audit_aggregates(conn)
        got_whole = audit_aggregates(conn, whole=True)
        got_better = conn.execute(
            "SELECT observed_at FROM workload_events WHERE event_id = $id",
            {"id": better.event_id},
        ).fetchall()
        got = kept(conn)
        rebuild_aggregates(conn)
        want = kept(conn)
    want_count = sum(isinstance(e, WorkloadEvent) for e in [*stored_history, *new])
    assert (got_count, got_distinct) == (want_count, want_count)
    assert got_better == [(better.observed_at.replace(tzinfo=None),)]
    assert got_incremental == got_whole == []
    assert got == want


def test_incremental_audit_checks_the_workloads_changed_since_its_pass_and_whole_all() -> None:
    events = sorted(random_events(7), key=lambda e: e.occurred_at)
    early = {e.uid for e in events[: len(events) // 2] if isinstance(e, WorkloadEvent)}
    late = {e.uid for e in events[len(events) // 2 :] if isinstance(e, WorkloadEvent)}
    untouched, changed = sorted(early - late)[0], sorted(late - early)[0]
    with DuckDBSink(":memory:") as sink:
        conn = sink.connection
        sink.add_all(events[: len(events) // 2])
        sink.flush()
        assert audit_aggregates(conn) == []
        got_pending_after_pass = conn.execute("SELECT count(*) FROM aggregate_changes").fetchone()
        sink.add_all(events[len(events) // 2 :])
        sink.flush()
        for uid in (untouched, changed):
            conn.execute(
                "DELETE FROM workload_intervals WHERE uid = $uid AND start_at ="
                " (SELECT min(start_at) FROM workload_intervals WHERE uid = $uid)",
                {"uid": uid},
            )
        got_incremental = audit_aggregates(conn)
        got_whole = audit_aggregates(conn, whole=True)
        got_pending = conn.execute("SELECT count(*) FROM aggregate_changes").fetchone()

    def missing(rows: list[tuple[object, ...]]) -> list[object]:
        return sorted(r[2] for r in rows if r[:2] == ("workload_intervals", "missing"))

    assert got_pending_after_pass == (0,)
    assert missing(got_incremental) == [changed]
    assert missing(got_whole) == sorted([untouched, changed])
    assert got_pending == (1,)  # a failed audit records no pass: the change stays pending
