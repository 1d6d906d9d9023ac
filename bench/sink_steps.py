"""Where a worker batch's CPU goes: parsing the records, then each statement of the sink's flush.

``bench/pipeline.py`` measures the whole worker against raw consume; this script takes its
records (the same 10-cluster replay) without Kafka, in the worker's batches (per topic, up to
``--batch-size``), and runs in one thread what the worker runs in two: ``parse_batch`` (each
record validated into an event or a dead letter), then ``DuckDBSink.flush`` into an empty file,
its statements timed one by one (CPU seconds of the process: DuckDB's threads count). The
baseline, timed in the same process, is ``json.loads`` of every record: the least a parser that
builds Python objects pays.

    .venv/bin/python bench/sink_steps.py [--workloads 900] [--clusters 10] [--batch-size 20000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from faust.types import Message

from streams.agents.records import TimeWindow, parse_batch
from streams.app import BATCH_SIZE
from streams.sink_duckdb import DuckDBSink
from streams.synthetic import replay
from taskgov.store import SQL_DIR, Connection
from taskgov.store.files import sql_text, statements


@dataclass(frozen=True, slots=True)
class _Message:
    """What ``parse_batch`` reads of a Kafka record."""

    topic: str
    partition: int
    offset: int
    value: bytes
    timestamp: float


class _TimedConnection:
    """A connection that adds the CPU seconds of each statement to ``spent``, by SQL file."""

    def __init__(self, conn: Connection, spent: dict[str, float]) -> None:
        self._conn = conn
        self._spent = spent
        self._labels: dict[str, str] = {}
        for path in sorted((SQL_DIR / "sink").glob("*.sql")):
            name = f"sink/{path.name}"
            self._labels[sql_text(name)] = path.stem
            for n, (query, _) in enumerate(statements(name)):
                self._labels[query] = f"{path.stem} #{n + 1}"

    def execute(self, query: str, parameters: Any = None) -> Any:
        label = self._labels.get(query, query.split()[0].upper())
        started = time.process_time()
        try:
            return self._conn.execute(query, parameters)
        finally:
            self._spent[label] = self._spent.get(label, 0.0) + time.process_time() - started

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def batches(workloads: int, clusters: int, size: int) -> list[tuple[str, list[_Message]]]:
    """The replay's records per topic kind, in the worker's batches."""
    per_kind: dict[str, list[_Message]] = {}
    for kind, _, value in replay(workloads, clusters, redeliver_every=100).records:
        messages = per_kind.setdefault(kind, [])
        messages.append(_Message(kind, 0, len(messages), value, time.time()))
    return [
        (kind, messages[start : start + size])
        for kind, messages in per_kind.items()
        for start in range(0, len(messages), size)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workloads", type=int, default=900)
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    args = parser.parse_args()
    work = batches(args.workloads, args.clusters, args.batch_size)
    records = sum(len(messages) for _, messages in work)
    started = time.process_time()
    for _, messages in work:
        for message in messages:
            json.loads(message.value)
    baseline = time.process_time() - started
    spent: dict[str, float] = {"parse_batch": 0.0, "flush": 0.0}
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        sink = DuckDBSink(Path(tmp) / "steps.duckdb")
        sink._conn = cast(Connection, _TimedConnection(sink.connection, spent))  # noqa: SLF001
        for kind, messages in work:
            started = time.process_time()
            parsed = parse_batch(kind, cast(list[Message], messages), TimeWindow(), now)
            spent["parse_batch"] += time.process_time() - started
            started = time.process_time()
            for record in parsed:
                sink.add(record.item, source=record.source)
            sink.flush()
            spent["flush"] += time.process_time() - started
        sink.close()
    statements_s = sum(v for k, v in spent.items() if k not in ("parse_batch", "flush"))
    spent["flush outside its statements (add, JSON)"] = spent["flush"] - statements_s
    print(f"{records:,} records in {len(work)} batches; CPU seconds (x json.loads of the records,")
    print(f"{baseline:.2f} s in the same process):")
    for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        if seconds >= 0.01 * spent["flush"]:
            print(f"  {label:45s} {seconds:6.2f} s  x {seconds / baseline:5.2f}")


if __name__ == "__main__":
    main()
