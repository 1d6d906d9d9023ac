"""``taskgov worker`` SIGKILLed on top of a pre-loaded record: every id still stored once.

The event log has no index over event ids (migration 008): the sink finds a stored version of
an id among its Workload's events. A record that already holds a history (3,000 events of
another cluster, ending the day before) must come out of three SIGKILLs (inside the DuckDB
transaction, just after commit, between batches) and restarts exactly as from one clean load:
the history and the replay's ids each once, every audit empty (the log-vs-aggregates one both
incremental, since the pre-load's recorded pass, and whole), the aggregates equal.
"""

from __future__ import annotations

import signal
import uuid
from datetime import timedelta
from pathlib import Path

import duckdb

from streams.events import ClusterQueueEvent, WorkloadEvent, event_id
from streams.sink_duckdb import DuckDBSink
from taskgov.broker import ensure_topics
from taskgov.store import SQL_DIR, audit_aggregates, connect_read_write
from taskgov.twin.render import EPOCH
from tests.sql.builders import DAY
from tests.sql.scenarios import random_events
from tests.streams.helpers import end_offsets, produce, replay
from tests.streams.test_worker import (
    AGGREGATES,
    WorkerLog,
    snapshot,
    start_worker,
    wait_for,
    wait_until_stored,
)

PHASES = ("in_transaction", "after_commit", "mid_batch")
BATCH_SIZE = 300
# The history ends the day before the replay starts, as bench/pipeline.py --history has it.
EARLIER = DAY - (EPOCH.replace(tzinfo=None) - timedelta(days=1))


def history() -> list[WorkloadEvent | ClusterQueueEvent]:
    """About 3,000 events of 500 Workloads on cluster ``history``, the day before the replay."""
    moved: list[WorkloadEvent | ClusterQueueEvent] = []
    for e in random_events(99, 500):
        update = {
            "cluster": "history",
            "occurred_at": e.occurred_at - EARLIER,
            "observed_at": e.observed_at - EARLIER,
        }
        if isinstance(e, WorkloadEvent):
            update["event_id"] = event_id("history", e.uid, e.event_type, e.ordinal)
        else:
            update["event_id"] = f"history-{e.event_id}"
        moved.append(e.model_copy(update=update))
    return moved


def rows(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[object, ...]]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()  # noqa: S608


def test_worker_killed_on_a_preloaded_record_stores_each_id_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"p{uuid.uuid4().hex[:10]}"
    topics = ("workload-events", "clusterqueue-events", "dead-letter")
    ensure_topics(
        kafka_bootstrap, dict(zip((f"{prefix}.{t}" for t in topics), (3, 1, 1), strict=True))
    )
    db, log_path, app_id = tmp_path / "w.duckdb", tmp_path / "w.log", f"pre-{prefix}"
    stored_history = history()
    with DuckDBSink(db) as sink:
        sink.add_all(stored_history)
    with connect_read_write(db) as conn:
        assert audit_aggregates(conn, whole=True) == []
    data = replay(150, 2, redeliver_every=50)
    ends = end_offsets(produce(kafka_bootstrap, prefix, data.records))
    log = WorkerLog(log_path)
    process = start_worker(kafka_bootstrap, prefix, db, log_path, app_id, BATCH_SIZE)
    try:
        for phase in PHASES:
            wait_for(log, process, "event=batch_stored", 120)
            marker = "event=batch_writing" if phase == "in_transaction" else "event=batch_stored"
            wait_for(log, process, marker, 60)
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            log.poll()
            log.cursor = len(log.lines)
            reached, _ = snapshot(db)  # asserts no id is stored twice
            process = start_worker(kafka_bootstrap, prefix, db, log_path, app_id, BATCH_SIZE)
        wait_until_stored(log, process, ends, reached)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)

    everything = [*stored_history, *data.events]
    with DuckDBSink(":memory:") as clean:
        clean.add_all(everything)
        clean.flush()
        want = {table: rows(clean.connection, table) for table in AGGREGATES}
    _, got_ids = snapshot(db)
    with duckdb.connect(str(db), read_only=True) as conn:
        got_audits = {
            path.stem: conn.execute(path.read_text()).fetchall()
            for path in sorted((SQL_DIR / "audits").glob("*.sql"))
        }
        got = {table: rows(conn, table) for table in AGGREGATES}
    with connect_read_write(db) as conn:
        got_whole = audit_aggregates(conn, whole=True)
    assert got_ids == {e.event_id for e in everything}
    assert got_audits == dict.fromkeys(got_audits, [])
    assert got_whole == []
    assert got == want
