"""``taskgov worker`` when the broker loses records or goes away: a clear error and exit code.

- Topics recreated (deleted and created again on the session broker, or a broker restarted
  empty): the worker must not seek past the new end and store nothing; it exits 4 naming the
  partition, and DuckDB keeps exactly what it held.
- Broker down: one ``event=broker_unavailable`` line per backoff naming the address, aiokafka's
  own lines held back, and exit 1 once the outage passes ``--max-outage``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from kafka import KafkaAdminClient

from streams.poison import KafkaRecord, topics, workload_document
from taskgov.broker import BrokerError, ensure_topics, start_broker, stop_broker
from tests.streams.helpers import end_offsets, produce
from tests.streams.test_worker import WorkerLog, wait_for
from tests.streams.worker_runs import private_broker, store_until

TASKGOV = str(Path(sys.executable).with_name("taskgov"))


def records(first: int, count: int) -> list[KafkaRecord]:
    documents = [workload_document(n) for n in range(first, first + count)]
    return [("workload-events", d["uid"], json.dumps(d).encode()) for d in documents]


def store_all(
    bootstrap: str, prefix: str, db: Path, log_path: Path, sent: list[KafkaRecord]
) -> None:
    """Produce ``sent`` and run the worker until DuckDB holds all of it, then stop it."""
    store_until(bootstrap, prefix, db, log_path, end_offsets(produce(bootstrap, prefix, sent)))


def stored_ids(db: Path) -> set[str]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return {str(r[0]) for r in conn.execute("SELECT event_id FROM workload_events").fetchall()}


def delete_and_recreate(bootstrap: str, prefix: str, tmp_path: Path) -> str:
    """The events topic deleted and created again, on the same broker."""
    with KafkaAdminClient(bootstrap_servers=bootstrap) as admin:
        admin.delete_topics([f"{prefix}.workload-events"])
    deadline = time.monotonic() + 30
    while True:
        try:
            ensure_topics(bootstrap, topics(prefix))
            return bootstrap
        except BrokerError:
            assert time.monotonic() < deadline, "the topic was never created again"
            time.sleep(0.5)


def restart_empty(bootstrap: str, prefix: str, tmp_path: Path) -> str:
    """The broker stopped and started again with nothing (Tansu keeps records in memory)."""
    stop_broker(tmp_path / "broker")
    info = start_broker(tmp_path / "broker")
    ensure_topics(info.bootstrap, topics(prefix))
    return info.bootstrap


BEHIND = r"{prefix}\.workload-events\[(\d)\] ends at \d+, DuckDB has read to"
NEW_ID = r"{prefix}\.(workload-events) was [0-9a-f-]{{36}}, is now [0-9a-f-]{{36}}"


@pytest.mark.parametrize(
    ("lose_records", "produced_after", "want_message", "want_named", "want_count"),
    [
        pytest.param(
            delete_and_recreate,
            3,
            "no longer holds records",
            BEHIND,
            3,
            id="the events topic deleted and created again, holding fewer records than read",
        ),
        pytest.param(
            restart_empty,
            3,
            "no longer holds records",
            BEHIND,
            3,
            id="the broker restarted empty, then fewer records than read",
        ),
        pytest.param(
            delete_and_recreate,
            300,  # about 100 a partition, where DuckDB read about 20: no offset is past the end
            "holds other topics under the names DuckDB read from",
            NEW_ID,
            1,
            id="the events topic deleted and created again, holding more records than read",
        ),
    ],
)
def test_worker_stops_with_exit_4_when_the_broker_lost_what_duckdb_read(
    tmp_path: Path,
    lose_records: Callable[[str, str, Path], str],
    produced_after: int,
    want_message: str,
    want_named: str,
    want_count: int,
) -> None:
    prefix = f"r{uuid.uuid4().hex[:10]}"
    db, log_path = tmp_path / "w.duckdb", tmp_path / "worker.log"
    with private_broker(tmp_path / "broker") as broker:
        ensure_topics(broker.bootstrap, topics(prefix))
        store_all(broker.bootstrap, prefix, db, log_path, records(0, 60))
        before = stored_ids(db)
        bootstrap = lose_records(broker.bootstrap, prefix, tmp_path)
        produce(bootstrap, prefix, records(100, produced_after))

        result = subprocess.run(
            [TASKGOV, "worker", "--db", str(db)]
            + ["--topic-prefix", prefix, "--app-id", f"g2-{prefix}", "--session-timeout", "2"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "TASKGOV_KAFKA_BOOTSTRAP": bootstrap},
        )
    assert result.returncode == 4, result.stderr[-2000:]
    [message] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert message.startswith(f"error: the broker at {bootstrap} {want_message}"), message
    assert len(re.findall(want_named.format(prefix=prefix), message)) == want_count, message
    assert "Traceback" not in result.stderr
    assert len(before) == 60
    assert stored_ids(db) == before  # nothing stored, nothing lost from DuckDB


def test_worker_says_once_per_backoff_that_the_broker_is_away_then_exits_1(
    tmp_path: Path,
) -> None:
    prefix = f"d{uuid.uuid4().hex[:10]}"
    log_path = tmp_path / "worker.log"
    with private_broker(tmp_path / "broker") as broker:
        ensure_topics(broker.bootstrap, topics(prefix))
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "taskgov.cli", "worker", "--db", str(tmp_path / "w.db")]
                + ["--topic-prefix", prefix, "--session-timeout", "2", "--max-outage", "8"]
                + ["--log-level", "info"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "TASKGOV_KAFKA_BOOTSTRAP": broker.bootstrap},
            )
        try:
            wait_for(WorkerLog(log_path), process, "Worker]: Ready", 90)
            # The outage starts while stop_broker runs: the least it may last is counted from
            # before the stop, the most from after it.
            stopping = time.monotonic()
            stop_broker(tmp_path / "broker")
            stopped = time.monotonic()
            returncode = process.wait(90)
            exited = time.monotonic()
        finally:
            if process.poll() is None:
                process.kill()
    lines = log_path.read_text(errors="replace").splitlines()
    down = [line for line in lines if "event=broker_unavailable" in line]
    client = [line for line in lines if "[ERROR]" in line and "event=" not in line]
    assert returncode == 1
    assert exited - stopping >= 8 and exited - stopped < 40
    assert 2 <= len(down) <= 5, down  # checks at 0, 1, 3, 7 s of the outage
    assert all(f"bootstrap={broker.bootstrap}" in line for line in down)
    assert len(client) <= 2, client
    assert lines[-1].startswith(f"error: cannot reach the Kafka broker at {broker.bootstrap}")
