"""The worker on a stream with 1 % poison records of every kind, killed ten times.

Two measurements, in the same run, on a local broker:

1. **Throughput**: the same replay (``streams.synthetic.replay``) produced twice to fresh
   topics, once clean and once with 1 % poison records of every kind in
   ``streams.poison.POISON`` among it (the 1 MB garbage records shortened to
   ``--garbage-bytes``, still equal in their first 100 KB). ``taskgov worker`` stores each from
   an empty DuckDB file; the sustained rates (records/s, start-up excluded, as
   ``bench/pipeline.py`` measures them) give the ratio poisoned / clean.
2. **Long run**: for ``--duration`` seconds a producer feeds a stream at ``--rate`` records/s
   (the replay again and again, each round as new clusters, 1 % poison), while the worker is
   SIGKILLed ``--kills`` times at evenly spaced moments and started again. Then, once it has
   stored everything: every valid event once, every poison record its own dead letter with its
   reason and position, every audit empty.

    .venv/bin/python bench/poison.py [--duration 60] [--rate 2000] [--kills 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka import AIOKafkaProducer  # noqa: E402

from bench.pipeline import check as check_counts_and_audits  # noqa: E402
from bench.pipeline import print_verdict, run_worker  # noqa: E402
from streams.events import WorkloadEvent, event_id  # noqa: E402
from streams.poison import (  # noqa: E402
    POISON,
    KafkaRecord,
    Poison,
    dead_letter_position,
    garbage,
    stored_event_ids,
    topics,
)
from streams.synthetic import Replay, moved, produce, replay  # noqa: E402
from taskgov.broker import ensure_topics, local_broker  # noqa: E402
from taskgov.errors import TaskgovError  # noqa: E402
from taskgov.store import QueryError, connect_read_only  # noqa: E402

POISON_EVERY = 100  # 1 %


@dataclass
class Expected:
    """What the stored result must hold."""

    event_ids: set[str] = field(default_factory=set)
    # "topic[partition]@offset" -> the start of its dead letter's reason
    poison: dict[str, str] = field(default_factory=dict)


def poison_record(case: Poison, n: int, garbage_bytes: int) -> KafkaRecord:
    """The n-th record of a kind, with long garbage cut to ``garbage_bytes``."""
    if case.name.startswith("1 MB"):
        return garbage(n, garbage_bytes)
    return case.record(n)


def with_poison(
    records: list[KafkaRecord], first: int, garbage_bytes: int
) -> Iterator[tuple[KafkaRecord, Poison | None]]:
    """``records`` with one poison record after every ``POISON_EVERY - 1``, kinds in turn;
    ``first`` numbers the poison records (each distinct)."""
    n = first
    for index, record in enumerate(records):
        if index % (POISON_EVERY - 1) == POISON_EVERY - 2:
            case = POISON[n % len(POISON)]
            yield poison_record(case, n, garbage_bytes), case
            n += 1
        yield record, None


def round_records(data: Replay, round_no: int) -> list[KafkaRecord]:
    """The replay's records as new clusters (round ``round_no``), so every round's events are
    new ids, not redeliveries, and later by the replay's span times ``round_no``, so the stream
    moves on in time as a live one does (a batch refreshes only the minutes it reaches)."""
    span = max(e.observed_at for e in data.events) - min(e.occurred_at for e in data.events)
    shift = (span + timedelta(hours=1)) * round_no
    records: list[KafkaRecord] = []
    for event in data.events:
        cluster = f"r{round_no:03d}-{event.cluster}"
        if isinstance(event, WorkloadEvent):
            copy = moved(event, cluster, shift=shift)
            records.append(("workload-events", copy.uid, copy.model_dump_json().encode()))
        else:
            new_id = event_id(cluster, event.name, event.event_type, event.event_id)
            update = {
                "cluster": cluster,
                "event_id": new_id,
                "occurred_at": event.occurred_at + shift,
                "observed_at": event.observed_at + shift,
            }
            queue = event.model_copy(update=update)
            records.append(("clusterqueue-events", queue.name, queue.model_dump_json().encode()))
    return records


def throughput(
    bootstrap: str, data: Replay, workdir: Path, garbage_bytes: int, pairs: int
) -> tuple[float, float]:
    """Sustained records/s of the worker on the clean replay and on it with 1 % poison, run
    in turns ``pairs`` times (a shared machine's load changes from minute to minute); the
    totals of each kind: records over seconds."""
    poisoned = [record for record, _ in with_poison(data.records, 0, garbage_bytes)]
    seconds = {"clean": 0.0, "poisoned": 0.0}
    counts = {"clean": 0, "poisoned": 0}
    runs = [("clean", data.records), ("poisoned", poisoned)] * pairs
    for turn, (name, records) in enumerate(runs):
        prefix = f"tp{uuid.uuid4().hex[:8]}"
        ensure_topics(bootstrap, topics(prefix))
        produce(bootstrap, prefix, records)
        db, log = workdir / f"{name}-{turn}.duckdb", workdir / f"{name}-{turn}.log"
        run = run_worker(bootstrap, prefix, db, len(records), 20_000, log)
        print(
            f"{name}: {len(records):,} records, sustained {run.sustained_per_s:,.0f} records/s "
            f"({run.batches} batches, {run.flush_seconds:.1f} s in DuckDB transactions)"
        )
        counts[name] += len(records)
        seconds[name] += len(records) / run.sustained_per_s
    return counts["clean"] / seconds["clean"], counts["poisoned"] / seconds["poisoned"]


class Feeder(threading.Thread):
    """Produces rounds of the replay with 1 % poison at ``rate`` records/s until stopped."""

    def __init__(self, bootstrap: str, prefix: str, data: Replay, rate: int, garbage_bytes: int):
        super().__init__(daemon=True)
        self.bootstrap, self.prefix, self.data = bootstrap, prefix, data
        self.rate, self.garbage_bytes = rate, garbage_bytes
        self.stop = threading.Event()
        self.expected = Expected()
        self.sent = 0
        self.ends: dict[tuple[str, int], int] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._feed())
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            self.error = error

    async def _feed(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            linger_ms=20,
            max_batch_size=256 * 1024,
            max_request_size=8 * 1024 * 1024,
        )
        await producer.start()
        started, round_no, poisoned = time.monotonic(), 0, 0
        try:
            while not self.stop.is_set():
                records = round_records(self.data, round_no)
                chunk: list[tuple[KafkaRecord, Poison | None]] = []
                for item in with_poison(records, poisoned, self.garbage_bytes):
                    chunk.append(item)
                    poisoned += item[1] is not None
                    if len(chunk) == max(self.rate // 10, 1):
                        await self._send(producer, chunk)
                        chunk = []
                        ahead = self.sent / self.rate - (time.monotonic() - started)
                        if ahead > 0:
                            await asyncio.sleep(ahead)
                        if self.stop.is_set():
                            break
                if chunk and not self.stop.is_set():
                    await self._send(producer, chunk)
                round_no += 1
        finally:
            await producer.stop()

    async def _send(
        self, producer: AIOKafkaProducer, chunk: list[tuple[KafkaRecord, Poison | None]]
    ) -> None:
        futures = [
            await producer.send(f"{self.prefix}.{kind}", key=key.encode(), value=value)
            for (kind, key, value), _ in chunk
        ]
        for ((kind, _, value), case), metadata in zip(
            chunk, await asyncio.gather(*futures), strict=True
        ):
            where = f"{metadata.topic}[{metadata.partition}]@{metadata.offset}"
            tp = (metadata.topic, metadata.partition)
            self.ends[tp] = max(self.ends.get(tp, 0), metadata.offset + 1)
            if case is not None:
                self.expected.poison[where] = case.want_reason
            elif kind != "dead-letter":
                self.expected.event_ids.add(json.loads(value)["event_id"])
        self.sent += len(chunk)


def start_worker(bootstrap: str, prefix: str, db: Path, log: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "taskgov.cli", "worker", "--db", str(db)]
    argv += ["--topic-prefix", prefix, "--app-id", f"long-{prefix}", "--log-level", "info"]
    argv += ["--session-timeout", "2"]
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own CLI
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TASKGOV_KAFKA_BOOTSTRAP": bootstrap},
        )


def applied(db: Path) -> dict[tuple[str, int], int]:
    """DuckDB's offsets (read between the worker's transactions; {} while it holds the file)."""
    try:
        with connect_read_only(db, lock_wait_s=0) as conn:
            rows = conn.execute("SELECT * FROM applied_offsets").fetchall()
    except (TaskgovError, QueryError):
        return {}
    return {(str(t), int(p)): int(o) for t, p, o in rows}


def long_run(bootstrap: str, data: Replay, args: argparse.Namespace, workdir: Path) -> Expected:
    """Feed for ``args.duration`` s, killing the worker ``args.kills`` times; wait until it
    has stored everything. Returns what was fed."""
    prefix = f"long{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, topics(prefix))
    db, log = workdir / "long.duckdb", workdir / "long.log"
    feeder = Feeder(bootstrap, prefix, data, args.rate, args.garbage_bytes)
    worker = start_worker(bootstrap, prefix, db, log)
    feeder.start()
    started = time.monotonic()
    try:
        for kill in range(args.kills):
            due = started + args.duration * (kill + 0.5) / args.kills
            time.sleep(max(due - time.monotonic(), 0))
            if worker.poll() is not None:
                raise SystemExit(f"worker exited ({worker.returncode}) before kill {kill}; {log}")
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
            worker = start_worker(bootstrap, prefix, db, log)
        time.sleep(max(started + args.duration - time.monotonic(), 0))
        feeder.stop.set()
        feeder.join(120)
        if feeder.error is not None:
            raise SystemExit(f"the feeder failed: {feeder.error!r}")
        print(
            f"long run: {feeder.sent:,} records fed in {time.monotonic() - started:.0f} s "
            f"({len(feeder.expected.poison):,} poison), worker SIGKILLed {args.kills} times"
        )
        deadline = time.monotonic() + 1800
        while any(applied(db).get(tp, 0) < end for tp, end in feeder.ends.items()):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker stopped or stalled; see {log}")
            time.sleep(2)
        print(f"  all stored {time.monotonic() - started:.0f} s after the start")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    return feeder.expected


def check(db: Path, expected: Expected) -> list[str]:
    """What is wrong with the stored result (nothing, if all holds)."""
    problems = check_counts_and_audits(db, len(expected.event_ids))
    with connect_read_only(db) as conn:
        ids = set(stored_event_ids(conn))
        if ids != expected.event_ids:
            problems.append(
                f"{len(expected.event_ids - ids)} events missing, {len(ids - expected.event_ids)}"
                " unexpected"
            )
        letters: dict[str, str] = {}
        for (reason,) in conn.execute("SELECT reason FROM dead_letters").fetchall():
            if "(at " in reason:
                letters[dead_letter_position(reason)] = reason
        wrong = [
            where
            for where, want in expected.poison.items()
            if not letters.get(where, "").startswith(want)
        ]
        if wrong or len(letters) != len(expected.poison):
            problems.append(
                f"{len(letters):,} dead letters for {len(expected.poison):,} poison records; "
                f"{len(wrong)} missing or with another reason, e.g. {wrong[:3]}"
            )
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of feeding")
    parser.add_argument("--rate", type=int, default=2000, help="records/s fed in the long run")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--workloads", type=int, default=900, help="twin workloads per cluster")
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--garbage-bytes", type=int, default=200_000)
    parser.add_argument("--pairs", type=int, default=3, help="clean and poisoned runs, in turn")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, local_broker(Path(tmp) / "broker") as broker:
        workdir = Path(tmp)
        bootstrap = os.environ.get("TASKGOV_KAFKA_BOOTSTRAP") or broker.bootstrap
        data = replay(args.workloads, args.clusters)
        clean, poisoned = throughput(bootstrap, data, workdir, args.garbage_bytes, args.pairs)
        print(
            f"throughput: clean {clean:,.0f} records/s, with 1 % poison {poisoned:,.0f} "
            f"records/s; ratio poisoned / clean = {poisoned / clean:.2f}"
        )
        expected = long_run(bootstrap, data, args, workdir)
        problems = check(workdir / "long.duckdb", expected)
    print_verdict(
        f"long run result: {len(expected.event_ids):,} valid events, "
        f"{len(expected.poison):,} poison records: "
        + (
            "every event once, every poison record its dead letter, audits empty"
            if not problems
            else "WRONG"
        ),
        problems,
    )


if __name__ == "__main__":
    main()
