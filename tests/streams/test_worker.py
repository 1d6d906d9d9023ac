"""``taskgov worker`` against a real broker: SIGKILLed ten times, DuckDB still holds the ledger.

About 100,000 events (``helpers.replay``: a contended twin run rendered and normalized as the
watcher does, repeated as ten clusters, 1% sent twice, plus dead letters and three records no
model accepts) are produced straight to Kafka (aiokafka: see ``helpers.produce``). The worker, a real subprocess writing a DuckDB file, is killed with SIGKILL at ten
points chosen by a seeded RNG, each in a chosen phase:

- ``in_transaction``: just after it logs ``batch_writing``, inside the DuckDB transaction;
- ``after_commit``: just after it logs ``batch_stored``: in DuckDB, not yet acked or
  committed to Kafka;
- ``mid_batch``: a moment after a batch is stored, while the next is being taken.

After each kill the file must be consistent (every record below the stored offset of its
partition is in the log, offsets only go forward), and the restarted worker must seek to
exactly DuckDB's offsets, whatever the consumer group committed. At the end the event log
holds exactly the expected ids, the counts per type are exact, every audit is empty, and the
aggregates equal a clean single load of the same events.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from streams.events import COUNTED_TYPES, ClusterQueueEvent, WorkloadEvent
from streams.sink_duckdb import DuckDBSink
from taskgov.broker import ensure_topics
from taskgov.store import SQL_DIR
from tests.streams.helpers import Replay, end_offsets, produce, replay

KILL_SEED = 20261129
KILLS = 10
PHASES = ["in_transaction"] * 4 + ["after_commit"] * 3 + ["mid_batch"] * 3
BATCH_SIZE = 5000
AUDITS = sorted((SQL_DIR / "audits").glob("*.sql"))
AGGREGATES = ("workload_intervals", "workload_waits", "usage_minutes", "aggregate_state")

GARBAGE = [
    ("workload-events", "bad-1", b"not json at all"),
    ("workload-events", "bad-2", b'{"event_id": "x", "cluster": "c", "ordinal": 0}'),
    ("clusterqueue-events", "bad-3", b'{"name": 5}'),
]

_STORED = re.compile(r"event=batch_stored .*?records=(\d+) .*?offsets=(\S*)")
_SEEK = re.compile(r"event=seek topic=(\S+) partition=(\d+) offset=(\d+) group_committed=(\S+)")


@dataclass
class WorkerLog:
    """Reads a worker's log as it grows; ``next_line`` consumes the lines in order."""

    path: Path
    position: int = 0
    lines: list[str] = field(default_factory=list)
    cursor: int = 0

    def poll(self) -> None:
        """Read the complete lines written since the last call."""
        with self.path.open("rb") as text:
            text.seek(self.position)
            chunk = text.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.position += len(complete)
        self.lines += complete.decode(errors="replace").splitlines()

    def next_line(self, marker: str) -> str | None:
        """The next line not consumed yet that contains ``marker`` (consuming those before)."""
        while self.cursor < len(self.lines):
            line = self.lines[self.cursor]
            self.cursor += 1
            if marker in line:
                return line
        return None


def stored_offsets(line: str) -> dict[tuple[str, int], int]:
    """The offsets a ``batch_stored`` line reports, or {} for any other line."""
    found = _STORED.search(line)
    if not found or not found.group(2):
        return {}
    offsets = {}
    for item in found.group(2).split(","):
        topic, partition, offset = item.rsplit(":", 2)
        offsets[(topic, int(partition))] = int(offset)
    return offsets


def note_next_batch(
    log: WorkerLog, process: subprocess.Popen[bytes], reached: dict[tuple[str, int], int]
) -> None:
    """Wait for the next ``batch_stored`` line; raise ``reached`` to the offsets it reports."""
    for tp, offset in stored_offsets(wait_for(log, process, "event=batch_stored", 120)).items():
        reached[tp] = max(reached.get(tp, 0), offset)


def wait_until_stored(
    log: WorkerLog,
    process: subprocess.Popen[bytes],
    ends: dict[tuple[str, int], int],
    reached: dict[tuple[str, int], int],
) -> None:
    """Wait until the log shows every partition stored up to its end in ``ends``."""
    while any(reached.get(tp, 0) < end for tp, end in ends.items()):
        note_next_batch(log, process, reached)


def start_worker(
    bootstrap: str, prefix: str, db: Path, log: Path, app_id: str, batch_size: int = BATCH_SIZE
) -> subprocess.Popen[bytes]:
    # On the local Tansu a shorter session makes each of the eleven starts 3 s faster (a start
    # waits about half of it, and a restart until the killed member's session expires). Any
    # other broker gets the worker's default, which Apache Kafka accepts.
    session = "6" if os.environ.get("TASKGOV_KAFKA_BOOTSTRAP", "").strip() else "2"
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "taskgov.cli",
                "worker",
                "--db",
                str(db),
                "--topic-prefix",
                prefix,
                "--app-id",
                app_id,
                "--batch-size",
                str(batch_size),
                "--batch-window",
                "0.5",
                "--session-timeout",
                session,
                "--log-level",
                "info",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TASKGOV_KAFKA_BOOTSTRAP": bootstrap},
        )


def wait_for(
    log: WorkerLog, process: subprocess.Popen[bytes], marker: str, timeout_s: float
) -> str:
    """The next new line containing ``marker``; fails if the worker exits or it takes too long."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        log.poll()
        line = log.next_line(marker)
        if line is not None:
            return line
        assert process.poll() is None, f"worker exited ({process.returncode}); see {log.path}"
        time.sleep(0.005)
    raise AssertionError(f"no {marker!r} within {timeout_s} s; see {log.path}")


def snapshot(db: Path) -> tuple[dict[tuple[str, int], int], set[str]]:
    """DuckDB's applied offsets and the ids of every stored event (worker stopped)."""
    with duckdb.connect(str(db), read_only=True) as conn:
        offsets = {
            (str(t), int(p)): int(o)
            for t, p, o in conn.execute(
                "SELECT topic, topic_partition, next_offset FROM applied_offsets"
            ).fetchall()
        }
        ids = {
            str(row[0])
            for row in conn.execute(
                "SELECT event_id FROM workload_events UNION ALL"
                " SELECT event_id FROM cluster_queue_events"
            ).fetchall()
        }
        rows = conn.execute(
            "SELECT (SELECT count(*) FROM workload_events)"
            " + (SELECT count(*) FROM cluster_queue_events)"
        ).fetchone()
    assert rows is not None and rows[0] == len(ids), "an event id is stored twice"
    return offsets, ids


def test_worker_killed_ten_times_stores_exactly_the_ledger(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    prefix = f"w{uuid.uuid4().hex[:10]}"
    ensure_topics(
        kafka_bootstrap,
        {
            f"{prefix}.workload-events": 3,
            f"{prefix}.clusterqueue-events": 1,
            f"{prefix}.dead-letter": 1,
        },
    )
    db, log_path, app_id = tmp_path / "worker.duckdb", tmp_path / "worker.log", f"kill-{prefix}"
    log = WorkerLog(log_path)
    # The first worker starts (imports, joins its group) while the events are made and sent.
    process = start_worker(kafka_bootstrap, prefix, db, log_path, app_id)
    clean: dict[str, object] = {}
    reference = threading.Thread(target=lambda: None)
    try:
        data = replay(900, 10, redeliver_every=100)
        # Records no model accepts, among the others: kept as dead letters, never skipped.
        records = data.records[:40_000] + GARBAGE + data.records[40_000:]
        positions = produce(kafka_bootstrap, prefix, records)
        produced_s = time.monotonic() - started
        # Meanwhile, the same events through the sink in one clean transaction.
        reference = threading.Thread(target=_clean_run, args=(data, clean))
        reference.start()
        ends = end_offsets(positions)
        total = sum(ends.values())
        # The event id of each record, to check what DuckDB holds below its stored offsets.
        record_ids = [
            (topic, partition, offset, _event_id(value))
            for (kind, _, value), (topic, partition, offset) in zip(records, positions, strict=True)
            if kind != "dead-letter" and (kind, _, value) not in GARBAGE
        ]
        rng = random.Random(KILL_SEED)
        thresholds = sorted(rng.sample(range(total // 20, total * 9 // 10), KILLS))
        phases = PHASES[:]
        rng.shuffle(phases)
        reached: dict[tuple[str, int], int] = {}
        previous: dict[tuple[str, int], int] = {}
        landed: list[str] = []
        # Seeks past the offset the group had committed in Kafka: the worker died after DuckDB
        # committed a batch and before Kafka had its offsets.
        behind = 0
        for kill, (threshold, phase) in enumerate(zip(thresholds, phases, strict=True)):
            while sum(reached.values()) < threshold:
                note_next_batch(log, process, reached)
            if phase == "in_transaction":
                wait_for(log, process, "event=batch_writing", 60)
                time.sleep(rng.uniform(0.0, 0.03))
            elif phase == "after_commit":
                wait_for(log, process, "event=batch_stored", 60)
            else:
                wait_for(log, process, "event=batch_stored", 60)
                time.sleep(rng.uniform(0.02, 0.15))
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            log.poll()
            landed.append(_landed(log.lines))
            log.cursor = len(log.lines)  # what the killed worker logged is done with

            offsets, ids = snapshot(db)
            assert all(offsets.get(tp, 0) >= o for tp, o in previous.items()), "offsets went back"
            missing = {
                event
                for topic, partition, offset, event in record_ids
                if offset < offsets.get((topic, partition), 0) and event not in ids
            }
            assert missing == set(), f"kill {kill} ({phase}): stored offsets pass missing events"
            previous, reached = offsets, dict(offsets)

            # The same consumer group, as a supervisor would restart it: the worker seeks to
            # DuckDB's offsets whatever the group committed in Kafka (often less).
            process = start_worker(kafka_bootstrap, prefix, db, log_path, app_id)
            seeks: dict[tuple[str, int], int] = {}
            while len(seeks) < len(ends):
                found = _SEEK.search(wait_for(log, process, "event=seek", 90))
                assert found
                tp = (found.group(1), int(found.group(2)))
                if tp not in seeks:
                    seeks[tp] = int(found.group(3))
                    committed = found.group(4)
                    behind += (0 if committed == "None" else int(committed)) < seeks[tp]
            assert seeks == {tp: offsets.get(tp, 0) for tp in ends}, f"kill {kill}: bad seek"

        wait_until_stored(log, process, ends, reached)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    reference.join(120)
    assert clean, "the clean run failed"
    assert "in_transaction" in landed, landed
    assert behind > 0
    print(
        f"kills landed {dict(Counter(landed))}; {behind} seeks passed the group's offset;"
        f" events made and sent in {produced_s:.1f} s,"
        f" all stored after {time.monotonic() - started:.1f} s"
    )

    workload = [e for e in data.events if isinstance(e, WorkloadEvent)]
    queues = [e for e in data.events if isinstance(e, ClusterQueueEvent)]
    with duckdb.connect(str(db), read_only=True) as conn:
        stored = conn.execute("SELECT event_id, event_type FROM workload_events").fetchall()
        # About 100k events: the exact number is whatever the twin's replay makes (the twin's
        # scheduling decides it); every one of them, and no other, must be stored once.
        assert len(stored) == len({i for i, _ in stored}) == len(workload) > 99_000
        assert {i for i, _ in stored} == {e.event_id for e in workload}
        assert {i for i, t in stored if t in COUNTED_TYPES} == data.ledger_ids()
        assert Counter(t for _, t in stored) == Counter(e.event_type for e in workload)
        assert {
            r[0] for r in conn.execute("SELECT event_id FROM cluster_queue_events").fetchall()
        } == {e.event_id for e in queues}
        letters = conn.execute("SELECT kind, reason FROM dead_letters").fetchall()
        assert len(letters) == len(data.dead_letters) + len(GARBAGE) == 80 + 3
        assert sorted(k for k, r in letters if r.startswith("unreadable record: ")) == [
            "clusterqueue-events record",
            "workload-events record",
            "workload-events record",
        ]
        applied = conn.execute("SELECT topic, topic_partition, next_offset FROM applied_offsets")
        assert {(t, p): o for t, p, o in applied.fetchall()} == ends
        for audit in AUDITS:
            assert conn.execute(audit.read_text()).fetchall() == [], audit.stem
        for table in AGGREGATES:
            assert _rows(conn, table) == clean[table], table
        totals = _team_totals(conn)
        assert totals == clean["team totals"]
    assert len(totals) == 40  # 10 clusters x 4 teams


def _clean_run(data: Replay, into: dict[str, object]) -> None:
    """The aggregates of one clean transaction holding every event once."""
    with DuckDBSink(":memory:") as sink:
        sink.add_all([*data.events, *data.dead_letters])
        sink.flush()
        for table in AGGREGATES:
            into[table] = _rows(sink.connection, table)
        into["team totals"] = _team_totals(sink.connection)


def _event_id(value: bytes) -> str:
    found = re.search(rb'"event_id":"([0-9a-f]+)"', value)
    assert found
    return found.group(1).decode()


def _landed(lines: list[str]) -> str:
    """Where the last kill struck, from the last batch line the worker logged."""
    for line in reversed(lines):
        if "event=batch_writing" in line:
            return "in_transaction"
        if "event=batch_stored" in line:
            return "after_commit_or_mid_batch"
    return "before_first_batch"


def _rows(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[object, ...]]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()  # noqa: S608


def _team_totals(conn: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    """Per cluster and team: accelerator-minutes used, borrowed, lent, idle and pending."""
    # Summed as decimals: a sum of doubles depends on the order DuckDB happens to add them.
    amounts = ("used", "borrowed", "lent", "idle", "pending")
    sums = ", ".join(f"sum({a}_accelerators::DECIMAL(38, 12))" for a in amounts)
    return conn.execute(
        f"SELECT cluster, team, {sums} FROM usage_minutes GROUP BY ALL ORDER BY ALL"  # noqa: S608
    ).fetchall()


def test_worker_names_an_unreachable_broker_and_fails(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "taskgov.cli",
            "worker",
            "--db",
            str(tmp_path / "w.duckdb"),
            "--connect-timeout",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TASKGOV_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"},
    )
    assert result.returncode == 1
    assert f"cannot reach the Kafka broker at 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 30
    assert not (tmp_path / "w.duckdb").exists()


def test_worker_without_any_broker_configured_says_how_to_get_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TASKGOV_KAFKA_BOOTSTRAP"}
    result = subprocess.run(
        [sys.executable, "-m", "taskgov.cli", "worker", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 1
    assert "no Kafka broker configured" in result.stderr
    assert "TASKGOV_KAFKA_BOOTSTRAP" in result.stderr
