"""Events per second from Kafka into DuckDB through the worker: Faust agent, then the sink.

The records are a realistic replay (``streams.synthetic.replay``: one contended twin run
rendered and normalized like the watcher does, repeated as several clusters), produced to
fresh topics first. Then, on those topics and in the same run:

1. kafka-python's raw consume rate (a consumer group that only counts the records): the
   baseline the pipeline is compared with, as in ``spec/local-kafka.md``;
2. aiokafka's raw consume rate (the client Faust uses), for reference;
3. ``taskgov worker`` (a real subprocess) from an empty DuckDB file until every record is
   stored. Its rate is sustained: the records of every batch after the first, over the time
   from the first batch stored to the last (start-up and group join excluded); the rate from
   "worker ready" to the last batch is printed too.

Finally the database is checked: every distinct event stored once, every audit empty.

With ``--history N`` (e.g. ``1M``, ``10M``) the DuckDB file is pre-loaded first with about N
events of ``bench/reports.py``'s generator, ending the day before the replay starts, its
aggregates rebuilt and audited whole once (a recorded pass), so the worker appends to a long
record (``--history-from FILE`` copies such a file instead of generating it; ``--keep DIR``
keeps one). The final check's log-vs-aggregates audit is then incremental: it checks what the
worker changed since that pass; its time is printed.

    .venv/bin/python bench/pipeline.py [--workloads 900] [--clusters 10] [--batch-size 20000]
        [--history 10M] [--history-from FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka import AIOKafkaConsumer  # noqa: E402
from kafka import KafkaConsumer  # noqa: E402

from bench.reports import DAYS, generate  # noqa: E402
from streams.app import BATCH_SIZE, TOPIC_KINDS  # noqa: E402
from streams.synthetic import produce, replay  # noqa: E402
from taskgov.broker import ensure_topics, local_broker  # noqa: E402
from taskgov.store import (  # noqa: E402
    SQL_DIR,
    audit_aggregates,
    connect_read_only,
    connect_read_write,
    migrate,
    rebuild_aggregates,
)
from taskgov.twin.render import EPOCH  # noqa: E402

_LOG_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]")
_STORED = re.compile(r"event=batch_stored .*?records=(\d+) .*?seconds=([0-9.]+)")
_COUNT = re.compile(r"^(\d+(?:\.\d+)?)([kKmM]?)$")
_COUNT_SCALE = {"": 1, "k": 1_000, "m": 1_000_000}


@dataclass(frozen=True, slots=True)
class PipelineRun:
    """What the worker's log says about one run."""

    records: int
    batches: int
    sustained_per_s: float
    from_ready_per_s: float
    flush_seconds: float
    wall_s: float
    cpu_s: float


def raw_kafka_python(bootstrap: str, topics: list[str], total: int) -> float:
    """Records per second a kafka-python consumer group reads, first record to last."""
    consumer = KafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=5000,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    seen, started = 0, 0.0
    try:
        while seen < total:
            for records in consumer.poll(timeout_ms=1000).values():
                started = started or time.perf_counter()
                seen += len(records)
        return seen / (time.perf_counter() - started)
    finally:
        consumer.close()


def raw_aiokafka(bootstrap: str, topics: list[str], total: int) -> float:
    """Records per second an aiokafka consumer group reads, first record to last."""

    async def run() -> float:
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        seen, started = 0, 0.0
        try:
            while seen < total:
                batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
                for records in batches.values():
                    started = started or time.perf_counter()
                    seen += len(records)
            return seen / (time.perf_counter() - started)
        finally:
            await consumer.stop()

    return asyncio.run(run())


def _log_time(line: str) -> float | None:
    found = _LOG_TIME.match(line)
    if found is None:
        return None
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()


def run_worker(
    bootstrap: str, prefix: str, db: Path, total: int, batch_size: int, log: Path
) -> PipelineRun:
    """Run ``taskgov worker`` until its log shows ``total`` records stored, then stop it."""
    argv = [sys.executable, "-m", "taskgov.cli", "worker", "--db", str(db)]
    argv += ["--topic-prefix", prefix, "--app-id", f"bench-{uuid.uuid4().hex[:8]}"]
    argv += ["--batch-size", str(batch_size), "--log-level", "info"]
    started = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log.open("w") as out:
        worker = subprocess.Popen(  # noqa: S603 - our own CLI
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TASKGOV_KAFKA_BOOTSTRAP": bootstrap},
        )
    stored, batches, flush_s = 0, [], 0.0
    ready_at: float | None = None
    position = 0
    try:
        deadline = time.monotonic() + 900
        while stored < total:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker stopped or stalled at {stored}/{total}; see {log}")
            time.sleep(0.2)
            with log.open() as text:
                text.seek(position)
                chunk = text.read()
            complete = chunk[: chunk.rfind("\n") + 1]
            position += len(complete.encode())
            for line in complete.splitlines():
                if ready_at is None and "[^Worker]: Ready" in line:
                    ready_at = _log_time(line)
                found = _STORED.search(line)
                if found:
                    records = int(found.group(1))
                    stored += records
                    flush_s += float(found.group(2))
                    batches.append((_log_time(line) or 0.0, records))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    first_at, first_records = batches[0]
    last_at = batches[-1][0]
    sustained = (stored - first_records) / (last_at - first_at) if len(batches) > 1 else 0.0
    from_ready = stored / (last_at - (ready_at or first_at))
    return PipelineRun(stored, len(batches), sustained, from_ready, flush_s, wall, cpu)


def event_count(text: str) -> int:
    """``10M``, ``100k`` or ``2500`` as a number of events."""
    found = _COUNT.match(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"not a count of events: {text!r} (e.g. 10M, 100k)")
    return int(float(found.group(1)) * _COUNT_SCALE[found.group(2).lower()])


def preload(db: Path, events: int, source: Path | None) -> int:
    """Fill ``db`` with a history of about ``events`` events ending the day before the replay
    (or copy ``source``); returns the events it holds."""
    if source is not None:
        shutil.copyfile(source, db)
    conn = connect_read_write(db)
    try:
        migrate(conn)
        if source is None and events:
            start = EPOCH.replace(tzinfo=None) - timedelta(days=DAYS + 1)
            generate(conn, events, start=start)
            rebuild_aggregates(conn)
            started = time.perf_counter()
            found = audit_aggregates(conn, whole=True)
            audit_s = time.perf_counter() - started
            print(f"whole audit of the pre-loaded record: {len(found)} rows in {audit_s:.1f} s")
        row = conn.execute(
            "SELECT (SELECT count(*) FROM workload_events)"
            " + (SELECT count(*) FROM cluster_queue_events)"
        ).fetchone()
        return int(row[0]) if row else 0
    finally:
        conn.close()


def check(db: Path, distinct: int) -> list[str]:
    """What is wrong with the stored result: a wrong count or an audit with rows."""
    problems = []
    with connect_read_only(db) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM workload_events)"
            " + (SELECT count(*) FROM cluster_queue_events)"
        ).fetchone()
        if not row or row[0] != distinct:
            problems.append(f"{row and row[0]} events stored, want {distinct}")
        for audit in sorted((SQL_DIR / "audits").glob("*.sql")):
            started = time.perf_counter()
            rows = conn.execute(audit.read_text()).fetchall()
            print(f"audit {audit.stem}: {len(rows)} rows in {time.perf_counter() - started:.1f} s")
            if rows:
                problems.append(f"{audit.stem}: {len(rows)} rows")
    return problems


def print_verdict(verdict: str, problems: list[str]) -> None:
    """Print the check's verdict line, then each problem, and exit 1 if there is any: a bench
    whose result is wrong must fail its run, not only say so above the figures."""
    print(verdict)
    for problem in problems:
        print(f"  {problem}")
    if problems:
        raise SystemExit(1)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", type=int, default=900, help="twin workloads per cluster")
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--keep", type=Path, help="copy the worker's log and DuckDB file here")
    parser.add_argument(
        "--history", type=event_count, default=0, help="events pre-loaded in the record (10M)"
    )
    parser.add_argument("--history-from", type=Path, help="copy this pre-loaded DuckDB file")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    with tempfile.TemporaryDirectory() as tmp, local_broker(Path(tmp) / "broker") as broker:
        workdir = Path(tmp)
        bootstrap = os.environ.get("TASKGOV_KAFKA_BOOTSTRAP") or broker.bootstrap
        started = time.perf_counter()
        data = replay(args.workloads, args.clusters, redeliver_every=100)
        generated = time.perf_counter() - started
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        topics = [f"{prefix}.{kind}" for kind in TOPIC_KINDS]
        ensure_topics(bootstrap, dict(zip(topics, (3, 1, 1), strict=True)))
        started = time.perf_counter()
        produce(bootstrap, prefix, data.records)  # where each landed is not needed here
        produced = time.perf_counter() - started
        total, distinct = len(data.records), len(data.events)
        print(
            f"{total:,} records ({distinct:,} distinct events, {data.redelivered:,} sent twice, "
            f"{len(data.dead_letters)} dead letters) generated in {generated:.1f} s, "
            f"produced in {produced:.1f} s"
        )
        kafka_python = raw_kafka_python(bootstrap, topics, total)
        aiokafka = raw_aiokafka(bootstrap, topics, total)
        db, log = workdir / "bench.duckdb", workdir / "worker.log"
        started = time.perf_counter()
        history = preload(db, args.history, args.history_from)
        if history:
            loaded_s = time.perf_counter() - started
            print(f"record pre-loaded with {history:,} events in {loaded_s:.1f} s")
        run = run_worker(bootstrap, prefix, db, total, args.batch_size, log)
        problems = check(db, distinct + history)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for path in (db, log):
                path.replace(args.keep / path.name)
    print(
        f"pipeline (taskgov worker, batch {args.batch_size:,}, record pre-loaded with "
        f"{history:,} events): {run.records:,} records in "
        f"{run.batches} batches, sustained {run.sustained_per_s:,.0f} records/s "
        f"({run.from_ready_per_s:,.0f}/s from worker ready; {run.flush_seconds:.1f} s in "
        f"DuckDB transactions; {run.wall_s:.1f} s with start-up, {run.cpu_s:.1f} s of CPU)"
    )
    print(f"kafka-python raw consume, same topics: {kafka_python:,.0f} records/s")
    print(f"aiokafka raw consume, same topics: {aiokafka:,.0f} records/s")
    print(f"ratio pipeline / kafka-python raw consume = {run.sustained_per_s / kafka_python:.2f}")
    print(f"ratio pipeline / aiokafka raw consume = {run.sustained_per_s / aiokafka:.3f}")
    print_verdict(
        "result exact: " + ("yes (every event once, audits empty)" if not problems else "NO"),
        problems,
    )


if __name__ == "__main__":
    main()
