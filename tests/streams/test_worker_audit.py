"""``taskgov worker`` audits what it wrote, between batches (``streams.agents.audit``).

Run with a 1 s interval: on a record as the sink wrote it, each audit records a pass and the
changes it covered are forgotten; on a record damaged before the worker started, no pass is
recorded, each audit logs the rows it found, and the worker stores every batch all the same.
"""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import duckdb
import pytest

from streams.sink_duckdb import DuckDBSink
from taskgov.broker import ensure_topics
from taskgov.store import audit_aggregates, connect_read_write
from taskgov.store.aggregates import LOG_AUDIT
from tests.streams.helpers import end_offsets, produce, replay
from tests.streams.test_sink_preloaded import history
from tests.streams.test_worker import WorkerLog, start_worker, wait_for, wait_until_stored

TOPICS = ("workload-events", "clusterqueue-events", "dead-letter")
# Every stretch of one Workload of the pre-loaded history, lost from the aggregates.
DAMAGE = (
    "DELETE FROM workload_intervals WHERE uid = (SELECT min(uid) FROM workload_intervals"
    " WHERE cluster = 'history')"
)


@pytest.mark.parametrize(
    ("damage", "want_event", "want_passes"),
    [
        pytest.param(None, "event=audit_passed", True, id="a record as the sink wrote it passes"),
        pytest.param(
            DAMAGE, "event=audit_failed", False, id="a damaged record fails, named, no pass"
        ),
    ],
)
def test_worker_audits_the_aggregates_between_batches(
    kafka_bootstrap: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: str | None,
    want_event: str,
    want_passes: bool,
) -> None:
    prefix = f"a{uuid.uuid4().hex[:10]}"
    ensure_topics(kafka_bootstrap, {f"{prefix}.{t}": 1 for t in TOPICS})
    db, log_path = tmp_path / "w.duckdb", tmp_path / "w.log"
    with DuckDBSink(db) as sink:
        sink.add_all(history())
    want_rows: list[tuple[object, ...]] = []
    if damage:
        with connect_read_write(db) as conn:
            conn.execute(damage)
            want_rows = audit_aggregates(conn)  # found, so no pass is recorded
    ends = end_offsets(produce(kafka_bootstrap, prefix, replay(40, 1).records))
    monkeypatch.setenv("TASKGOV_AUDIT_EVERY_S", "1")
    log = WorkerLog(log_path)
    process = start_worker(kafka_bootstrap, prefix, db, log_path, f"g-{prefix}")
    try:
        wait_until_stored(log, process, ends, {})
        # The next audit after the last batch: the one that covered every change.
        line = wait_for(log, process, "event=audit_", 60)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)

    with duckdb.connect(str(db), read_only=True) as conn:
        passes = conn.execute("SELECT max(passed_at), count(*) FROM audit_passes").fetchone()
        changes = conn.execute(
            "SELECT count(*) FILTER (recorded_at <= (SELECT max(passed_at) FROM audit_passes)),"
            " count(*) FROM aggregate_changes"
        ).fetchone()
    assert want_event in line
    assert f"audit={LOG_AUDIT}" in line
    assert passes is not None and changes is not None
    if want_passes:
        assert passes[1] >= 1
        assert changes[0] == 0  # nothing older than the last pass is kept
    else:
        assert len(want_rows) > 0
        assert f"rows={len(want_rows)} pass_recorded=false" in line
        assert passes[1] == 0
        assert changes[1] > 0  # every change is kept for the next audit
