"""``taskgov worker`` audits what it wrote, between batches (``streams.agents.audit``).

Run with a 1 s interval on a record whose first 450 Workloads were audited whole (a pass) and
whose last 50 were stored after it: as the sink wrote it, each audit records a pass and the
changes it covered are forgotten; with one of the last 50 damaged, no pass is recorded, each
audit logs the rows it found, and the worker stores every batch all the same. On a record never
audited only a whole audit could run, which costs the history while batches wait: the worker
skips it and names the command that runs it.
"""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import duckdb
import pytest

from streams.events import WorkloadEvent
from streams.sink_duckdb import DuckDBSink
from taskgov.broker import ensure_topics
from taskgov.store import audit_aggregates, connect_read_write
from taskgov.store.aggregates import LOG_AUDIT
from tests.streams.helpers import end_offsets, produce, replay
from tests.streams.test_sink_preloaded import history
from tests.streams.test_worker import WorkerLog, start_worker, wait_for, wait_until_stored

TOPICS = ("workload-events", "clusterqueue-events", "dead-letter")
# Every stretch of one of the Workloads stored after the pass, lost from the aggregates.
DAMAGE = (
    "DELETE FROM workload_intervals WHERE uid = (SELECT max(uid) FROM workload_intervals"
    " WHERE cluster = 'history')"
)
LATER_WORKLOADS = 50


def preload(db: Path, *, audited: bool, damage: str | None) -> list[tuple[object, ...]]:
    """The history, its first Workloads audited whole (when ``audited``), its last
    ``LATER_WORKLOADS`` stored after; returns what an audit finds after ``damage``."""
    events = history()
    uids = sorted({e.uid for e in events if isinstance(e, WorkloadEvent)})
    later = set(uids[-LATER_WORKLOADS:])
    with DuckDBSink(db) as sink:
        sink.add_all([e for e in events if getattr(e, "uid", None) not in later])
    if audited:
        with connect_read_write(db) as conn:
            assert audit_aggregates(conn, whole=True) == []
    with DuckDBSink(db) as sink:
        sink.add_all([e for e in events if getattr(e, "uid", None) in later])
    if not damage:
        return []
    with connect_read_write(db) as conn:
        conn.execute(damage)
        return audit_aggregates(conn)  # found, so no pass is recorded


@pytest.mark.parametrize(
    ("audited", "damage", "want_event", "want_new_pass"),
    [
        pytest.param(
            True, None, "event=audit_passed", True, id="a record as the sink wrote it passes"
        ),
        pytest.param(
            True, DAMAGE, "event=audit_failed", False, id="a damaged record fails, named, no pass"
        ),
        pytest.param(
            False,
            None,
            "event=audit_skipped",
            False,
            id="a record never audited is left to taskgov audit --whole, named, no pass",
        ),
    ],
)
def test_worker_audits_the_aggregates_between_batches(
    kafka_bootstrap: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    audited: bool,
    damage: str | None,
    want_event: str,
    want_new_pass: bool,
) -> None:
    prefix = f"a{uuid.uuid4().hex[:10]}"
    ensure_topics(kafka_bootstrap, {f"{prefix}.{t}": 1 for t in TOPICS})
    db, log_path = tmp_path / "w.duckdb", tmp_path / "w.log"
    want_rows = preload(db, audited=audited, damage=damage)
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
    pre_passes = 1 if audited else 0
    if want_new_pass:
        assert passes[1] >= pre_passes + 1
        assert changes[0] == 0  # nothing older than the last pass is kept
    else:
        assert passes[1] == pre_passes
        assert changes[1] > 0  # every change is kept for the next audit
    if damage:
        assert len(want_rows) > 0
        assert f"rows={len(want_rows)} pass_recorded=false" in line
    if not audited:
        assert "reason=whole_audit_needed" in line
        assert "taskgov audit --whole" in line
