"""The sink: idempotent storage, order-independent aggregates, offsets, dead letters, failure."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from streams.events import DeadLetter
from streams.sink_duckdb import (
    DuckDBSink,
    Event,
    SinkError,
    SourceOffset,
)
from taskgov.store import rebuild_aggregates
from tests.sql.builders import DAY, make_cluster_queue, make_workload
from tests.sql.scenarios import random_events

TABLES = (
    "workload_events",
    "cluster_queue_events",
    "cluster_queue_quotas",
    "dead_letters",
    "aggregate_state",
    "workload_intervals",
    "workload_waits",
    "usage_minutes",
)


def dump(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[object, ...]]]:
    """Every stored table, rows sorted, so two databases compare as values."""
    return {table: sorted(conn.table(table).fetchall(), key=repr) for table in TABLES}


def stored(
    events: Sequence[Event], batches: list[list[int]]
) -> dict[str, list[tuple[object, ...]]]:
    """The tables after adding ``events`` in the given batches of indexes, one flush each."""
    with DuckDBSink(":memory:") as sink:
        for batch in batches:
            sink.add_all(events[i] for i in batch)
            sink.flush()
        return dump(sink.connection)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sink_same_batch_twice_changes_nothing(seed: int) -> None:
    events = random_events(seed)
    everything = list(range(len(events)))

    want = stored(events, [everything])
    got = stored(events, [everything, everything])

    assert got == want
    assert want["usage_minutes"], "the scenario produces aggregates"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sink_replay_in_another_order_gives_identical_tables(seed: int) -> None:
    events = random_events(seed)
    order = list(range(len(events)))
    random.Random(seed).shuffle(order)
    # Uneven batches, and a second delivery of a random half (at-least-once).
    batches = [order[i : i + 7] for i in range(0, len(order), 7)]
    batches.append(sorted(random.Random(seed + 1).sample(order, len(order) // 2)))

    want = stored(events, [list(range(len(events)))])
    got = stored(events, batches)

    assert got == want


def test_sink_one_event_per_flush_equals_a_full_rebuild() -> None:
    events = random_events(4, workloads=15)
    with DuckDBSink(":memory:") as sink:
        for event in reversed(events):
            sink.add(event)
            sink.flush()
        incremental = dump(sink.connection)
        rebuild_aggregates(sink.connection)
        rebuilt = dump(sink.connection)

    assert incremental == rebuilt


def test_sink_keeps_the_exact_version_over_an_inferred_one() -> None:
    exact = make_workload("w").gpus(1).event("00:00", "submitted").event("00:10", "admitted")
    inferred = make_workload("w").gpus(1).event("00:00", "submitted")
    inferred.event("00:30", "admitted", inferred=True, observed_at=DAY)
    want_admitted_at = datetime(2024, 5, 1, 0, 10)

    for first, second in ((exact, inferred), (inferred, exact)):
        with DuckDBSink(":memory:") as sink:
            sink.add_all(first.events())
            sink.flush()
            sink.add_all(second.events())
            sink.flush()
            got = sink.connection.execute(
                "SELECT occurred_at, inferred FROM workload_events WHERE event_type = 'admitted'"
            ).fetchall()
            waits = sink.connection.execute("SELECT admitted_at FROM workload_waits").fetchall()

        assert got == [(want_admitted_at, False)]
        assert waits == [(want_admitted_at,)]


def test_sink_records_the_next_offset_per_partition_durably(tmp_path: Path) -> None:
    path = tmp_path / "taskgov.duckdb"
    events = make_workload("w").event("00:00", "submitted").event("00:01", "pending").events()
    with DuckDBSink(path) as sink:
        sink.add(events[0], source=SourceOffset("workloads", 0, 41))
        sink.add(events[1], source=SourceOffset("workloads", 1, 7))
        sink.flush()
        sink.add(events[0], source=SourceOffset("workloads", 0, 12))  # a stale redelivery
        sink.flush()

    reopened = DuckDBSink(path, keep_open=False)

    assert reopened.applied_offsets() == {("workloads", 0): 42, ("workloads", 1): 8}


def test_sink_not_kept_open_lets_readers_in_between_flushes(tmp_path: Path) -> None:
    path = tmp_path / "taskgov.duckdb"
    sink = DuckDBSink(path, keep_open=False)
    sink.add_all(make_workload("w").gpus(1).event("00:00", "submitted").events())
    sink.flush()

    with duckdb.connect(str(path), read_only=True) as reader:
        got = reader.execute("SELECT count(*) FROM workload_events").fetchall()

    assert got == [(1,)]


def test_sink_stores_a_dead_letter_once_with_its_first_sighting() -> None:
    letter = DeadLetter(
        cluster="c", kind="Workload", reason="bad json", raw="{", observed_at=DAY + timedelta(1)
    )
    earlier = letter.model_copy(update={"observed_at": DAY})

    with DuckDBSink(":memory:") as sink:
        sink.add(letter)
        sink.flush()
        sink.add(earlier)
        sink.add(letter)
        sink.flush()
        got = sink.connection.execute(
            "SELECT kind, reason, observed_at FROM dead_letters"
        ).fetchall()

    assert got == [("Workload", "bad json", DAY)]


def test_sink_failed_flush_keeps_the_batch_for_a_retry() -> None:
    events = make_workload("w").gpus(1).event("00:00", "submitted").events()
    with DuckDBSink(":memory:") as sink:
        sink.add_all(events)
        sink.connection.execute("ALTER TABLE workload_events RENAME TO moved")

        with pytest.raises(SinkError) as raised:
            sink.flush()

        assert (raised.value.path, raised.value.batch_size) == (":memory:", 1)
        assert len(sink) == 1
        sink.connection.execute("ALTER TABLE moved RENAME TO workload_events")
        assert sink.flush().stored == 1


def test_sink_watermark_from_a_clock_extends_open_stretches() -> None:
    queue = make_cluster_queue("team-a-cq").nominal("ml.g5.8xlarge", "gpu", 4).changed("00:00")
    running = (
        make_workload("w")
        .gpus(2)
        .flavor("ml.g5.8xlarge")
        .event("00:00", "submitted")
        .event("00:00", "admitted")
    )
    with DuckDBSink(":memory:") as sink:
        sink.add_all([*queue.events(), *running.events()])
        sink.flush()
        sink.flush(watermark=DAY + timedelta(minutes=10))
        got = sink.connection.execute(
            "SELECT count(*), sum(used_accelerators) FROM usage_minutes"
        ).fetchall()

    assert got == [(10, 20.0)]


def test_sink_rejects_what_is_not_an_event() -> None:
    with DuckDBSink(":memory:") as sink, pytest.raises(TypeError):
        sink.add("not an event")  # type: ignore[arg-type]
