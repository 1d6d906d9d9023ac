"""``taskgov worker`` against the real broker, fed every kind of poison record issue 17 found.

One stream per module: valid Workload and ClusterQueue events with one record of each kind of
``tests.streams.poison.POISON`` among them (two of the 1 MB garbage records, equal in their
first 100 KB), and a seeded mutator's few hundred records besides. The worker (a subprocess)
must store every valid event once, turn every poison record into its own dead letter with
its reason and position, reach the end of every partition, and leave every audit empty.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pydantic import ValidationError

from streams.events import ClusterQueueEvent, DeadLetter, WorkloadEvent
from streams.poison import (
    POISON,
    KafkaRecord,
    dead_letter_position,
    queue_document,
    stored_event_ids,
    topics,
    workload_document,
)
from streams.sink_duckdb import DuckDBSink
from taskgov.broker import ensure_topics
from taskgov.store import SQL_DIR
from tests.streams.helpers import end_offsets, produce
from tests.streams.worker_runs import store_until

FUZZ_SEED = 20261204
FUZZ_RECORDS = 300
_KINDS = {
    "workload-events": WorkloadEvent,
    "clusterqueue-events": ClusterQueueEvent,
    "dead-letter": DeadLetter,
}


@dataclass
class StreamRun:
    """What was sent, where it landed, and what the worker stored."""

    records: list[KafkaRecord]
    positions: list[tuple[str, int, int]]
    event_ids: list[str]
    letters: dict[str, tuple[str, str]]  # position -> (reason, raw)
    audits: dict[str, list[tuple[Any, ...]]]
    fuzzed: list[KafkaRecord]

    def position(self, index: int) -> str:
        topic, partition, offset = self.positions[index]
        return f"{topic}[{partition}]@{offset}"

    def letter(self, index: int) -> tuple[str, str]:
        return self.letters[self.position(index)]


def valid_records(count: int) -> list[KafkaRecord]:
    """``count`` valid Workload events and one ClusterQueue event per ten."""
    records: list[KafkaRecord] = []
    for n in range(count):
        document = workload_document(1000 + n, requests={"nvidia.com/gpu": 1 + n % 4})
        records.append(("workload-events", document["uid"], json.dumps(document).encode()))
        if n % 10 == 0:
            quota = [{"flavor": "ml.p4d.24xlarge", "resource": "nvidia.com/gpu", "nominal": 8}]
            queue = queue_document(1000 + n, quota)
            records.append(("clusterqueue-events", queue["name"], json.dumps(queue).encode()))
    return records


def mutate(rng: random.Random, record: KafkaRecord) -> KafkaRecord:
    """A record changed the way a damaged or hostile producer would change it."""
    kind, key, value = record
    how = rng.randrange(6)
    if how == 0:  # flip bytes
        data = bytearray(value)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return kind, key, bytes(data)
    if how == 1:  # cut short
        return kind, key, value[: rng.randrange(len(value))]
    document: dict[str, Any] = json.loads(value)
    name = rng.choice(sorted(document))
    if how == 2:  # an extreme value in a field
        document[name] = rng.choice(
            [2**31, -(2**63), 2**64, 1e308, "", "x" * 5000, None, [], {}, True, "9999-01-01"]
        )
    elif how == 3:  # a field dropped
        del document[name]
    elif how == 4:  # a field nested deep
        document[name] = json.loads("[" * 150 + "]" * 150)
    else:  # a time moved
        document[name] = rng.choice(["1970-01-01T00:00:00Z", "2025-06-01T00:00:00+14:00", 0])
    return kind, key, json.dumps(document).encode()


def _times(item: WorkloadEvent | ClusterQueueEvent) -> list[datetime]:
    created = [item.created_at] if isinstance(item, WorkloadEvent) else []
    return [item.occurred_at, item.observed_at, *created]


def _plausible(moment: datetime) -> bool:
    """Between 2015 and two days from now (the settings' defaults)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime(2015, 1, 1, tzinfo=UTC) <= aware <= datetime.now(UTC) + timedelta(days=2)


@pytest.fixture(scope="module")
def stream_run(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> StreamRun:
    rng = random.Random(FUZZ_SEED)
    valid = valid_records(200)
    poison = [case.record(0) for case in POISON] + [POISON[-2].record(1)]  # garbage twice
    fuzzed = [mutate(rng, rng.choice(valid)) for _ in range(FUZZ_RECORDS)]
    records = valid + poison + fuzzed
    order = list(range(len(records)))
    rng.shuffle(order)
    records = [records[i] for i in order]

    prefix = f"p{uuid.uuid4().hex[:10]}"
    ensure_topics(kafka_bootstrap, topics(prefix))
    positions = produce(kafka_bootstrap, prefix, records)
    tmp = tmp_path_factory.mktemp("poison-stream")
    db = tmp / "worker.duckdb"
    store_until(kafka_bootstrap, prefix, db, tmp / "worker.log", end_offsets(positions))
    with duckdb.connect(str(db), read_only=True) as conn:
        ids = stored_event_ids(conn)
        letters: dict[str, tuple[str, str]] = {}
        for reason, raw in conn.execute("SELECT reason, raw FROM dead_letters").fetchall():
            where = dead_letter_position(str(reason))
            assert where not in letters, f"two dead letters for {where}"
            letters[where] = (str(reason), str(raw))
        audits = {
            audit.stem: conn.execute(audit.read_text()).fetchall()
            for audit in sorted((SQL_DIR / "audits").glob("*.sql"))
        }
    return StreamRun(records, positions, ids, letters, audits, fuzzed)


@pytest.mark.parametrize(
    ("case", "want_reason"),
    [pytest.param(case, case.want_reason, id=case.name) for case in POISON],
)
def test_worker_poison_record_becomes_its_own_dead_letter(
    stream_run: StreamRun, case: Any, want_reason: str
) -> None:
    index = stream_run.records.index(case.record(0))
    reason, _ = stream_run.letter(index)
    assert reason.startswith(want_reason), reason
    assert reason.endswith(f"(at {stream_run.position(index)})")


def test_worker_keeps_two_long_records_equal_in_their_first_100_kb_apart(
    stream_run: StreamRun,
) -> None:
    garbage = next(case for case in POISON if case.name.startswith("1 MB"))
    first = stream_run.letter(stream_run.records.index(garbage.record(0)))
    second = stream_run.letter(stream_run.records.index(garbage.record(1)))
    assert first[1] != second[1]
    assert first[1][:100_000] == second[1][:100_000]
    for _, raw in (first, second):
        assert raw[100_000:].startswith("… [cut: 1,000,000 characters in all, sha256 ")


def test_worker_stores_every_valid_record_once_and_dead_letters_the_rest(
    stream_run: StreamRun,
) -> None:
    want_ids: set[str] = set()
    want_letters: set[str] = set()
    for index, (kind, _, value) in enumerate(stream_run.records):
        try:
            item = _KINDS[kind].model_validate_json(value)
        except ValidationError:
            want_letters.add(stream_run.position(index))
            continue
        if isinstance(item, DeadLetter):
            continue  # the dead-letter topic's own letters; the poison one is checked above
        if any(not _plausible(moment) for moment in _times(item)):
            want_letters.add(stream_run.position(index))
        else:
            want_ids.add(item.event_id)
    assert len(stream_run.event_ids) == len(set(stream_run.event_ids))
    assert set(stream_run.event_ids) == want_ids
    assert want_letters <= set(stream_run.letters)
    assert len(want_ids) >= 200  # the valid ones, at least


def test_worker_audits_find_nothing_but_the_fuzzer_s_contradictions(stream_run: StreamRun) -> None:
    """A mutated field can make a valid event contradict another (a second team for a uid, a
    transition under a second id): the audits report exactly those, nothing else."""
    contradicted = {row[2] for row in stream_run.audits.pop("assert_workload_events_consistent")}
    fuzzed_keys = {key for kind, key, _ in stream_run.fuzzed if kind == "workload-events"}
    assert contradicted <= fuzzed_keys
    assert stream_run.audits == dict.fromkeys(stream_run.audits, [])


def test_worker_splits_out_records_the_database_refuses_and_stores_the_rest_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The general mechanism, whatever the bounds miss: a database whose priority column is
    narrower than the schema's (SMALLINT) refuses two valid records; the batch is split down
    to them, they become dead letters with the database's reason, the 60 others are stored."""
    db, log_path = tmp_path / "narrow.duckdb", tmp_path / "worker.log"
    DuckDBSink(db, keep_open=False)
    with duckdb.connect(str(db)) as conn:
        conn.execute("ALTER TABLE workload_events ALTER COLUMN priority TYPE SMALLINT")
    documents = [
        workload_document(2000 + n, priority=40_000 if n in (7, 41) else n) for n in range(62)
    ]
    records = [("workload-events", d["uid"], json.dumps(d).encode()) for d in documents]
    prefix = f"n{uuid.uuid4().hex[:10]}"
    ensure_topics(kafka_bootstrap, topics(prefix))
    positions = produce(kafka_bootstrap, prefix, records)
    store_until(kafka_bootstrap, prefix, db, log_path, end_offsets(positions))
    with duckdb.connect(str(db), read_only=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT event_id FROM workload_events").fetchall()]
        reasons = sorted(r[0] for r in conn.execute("SELECT reason FROM dead_letters").fetchall())
    assert sorted(ids) == sorted(d["event_id"] for n, d in enumerate(documents) if n not in (7, 41))
    want = sorted(f"{t}[{p}]@{o}" for n, (t, p, o) in enumerate(positions) if n in (7, 41))
    assert [dead_letter_position(r) for r in reasons] == want
    assert all(
        r.startswith("cannot be stored: Conversion Error: Type INT32 with value 40000")
        for r in reasons
    )
