"""The worker's writer on a real DuckDB file: a batch the database refuses is split down to the
records it refuses; those become dead letters with the reason, the rest are stored once.

The refused values are built past the wire schema's bounds (``model_construct``), as a record
the bounds miss would arrive: the mechanism must hold whatever the schema lets through.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.agents.events import BatchWriter
from streams.agents.records import Record, TimeWindow, parse_batch
from streams.events import ClusterQueueEvent, DeadLetter, WorkloadEvent
from streams.poison import kafka_message
from streams.sink_duckdb import DuckDBSink, SourceOffset
from tests.sql.builders import DAY, make_cluster_queue, make_workload

TOPIC = "t.workload-events"
QUEUES = "t.clusterqueue-events"


def workload_events(count: int) -> list[WorkloadEvent]:
    """``count`` valid events: submitted and admitted Workloads, a minute apart."""
    events: list[WorkloadEvent] = []
    for n in range((count + 1) // 2):
        builder = make_workload(f"job-{n}").gpus(1).flavor("ml.p4d.24xlarge")
        start = DAY + timedelta(minutes=n)
        events += builder.event(start, "submitted").event(start, "admitted").events()
    return events[:count]


def broken(event: WorkloadEvent | ClusterQueueEvent, **fields: Any) -> Any:
    """``event`` with ``fields`` set past the schema's checks."""
    return type(event).model_construct(**{**event.__dict__, **fields})


def as_records(topic: str, items: list[Any]) -> list[Record]:
    return [
        Record(item, SourceOffset(topic, 0, offset), item.model_dump_json().encode(), 1.7e9)
        for offset, item in enumerate(items)
    ]


def stored(db: Path) -> tuple[list[str], list[tuple[str, str]], dict[tuple[str, int], int]]:
    """Stored event ids, (kind, reason) of the dead letters, and the applied offsets."""
    with duckdb.connect(str(db), read_only=True) as conn:
        ids = [
            str(r[0])
            for r in conn.execute(
                "SELECT event_id FROM workload_events UNION ALL "
                "SELECT event_id FROM cluster_queue_events ORDER BY 1"
            ).fetchall()
        ]
        letters = [
            (str(k), str(r))
            for k, r in conn.execute("SELECT kind, reason FROM dead_letters ORDER BY 2").fetchall()
        ]
        offsets = {
            (str(t), int(p)): int(o)
            for t, p, o in conn.execute("SELECT * FROM applied_offsets").fetchall()
        }
    return ids, letters, offsets


def queue() -> ClusterQueueEvent:
    [event] = (
        make_cluster_queue("team-a-cq").nominal("ml.p4d.24xlarge", "gpu", 8).changed(DAY).events()
    )
    return event


_VALID = workload_events(40)
_QUEUE = queue()
_GPU_LINE = _QUEUE.quotas[0]


@pytest.mark.parametrize(
    ("topic", "items", "want_refused"),
    [
        pytest.param(
            TOPIC,
            _VALID[:20] + [broken(_VALID[20], ordinal=2**40)] + _VALID[21:],
            {20: "cannot be stored: Constraint Error: NOT NULL constraint failed"},
            id="an ordinal of 2**40 is refused alone and the 39 events around it are stored",
        ),
        pytest.param(
            TOPIC,
            [broken(_VALID[0], priority=2**31)] + _VALID[1:],
            {0: "cannot be stored: Constraint Error: NOT NULL constraint failed"},
            id="a priority of 2**31 first in the batch is refused alone",
        ),
        pytest.param(
            TOPIC,
            _VALID[:39] + [broken(_VALID[39], accelerators=2**63)],
            {39: "cannot be stored: Constraint Error: NOT NULL constraint failed"},
            id="accelerators of 2**63 last in the batch are refused alone",
        ),
        pytest.param(
            TOPIC,
            [broken(e, ordinal=2**40) if n in (3, 17, 18, 31) else e for n, e in enumerate(_VALID)],
            dict.fromkeys((3, 17, 18, 31), "cannot be stored: Constraint Error"),
            id="four refused records, two of them adjacent, among 40 are found by halving",
        ),
        pytest.param(
            QUEUES,
            [
                _QUEUE,
                broken(
                    _QUEUE,
                    event_id="q-big",
                    quotas=[_GPU_LINE.model_construct(**{**_GPU_LINE.__dict__, "nominal": 2**63})],
                ),
            ],
            {1: "cannot be stored: Conversion Error"},
            id="a ClusterQueue nominal of 2**63 is refused and the other queue event stored",
        ),
        pytest.param(
            QUEUES,
            [broken(_QUEUE, event_id="q-twice", quotas=[_GPU_LINE, _GPU_LINE]), _QUEUE],
            {0: "cannot be stored: Constraint Error: PRIMARY KEY or UNIQUE constraint"},
            id="a ClusterQueue quota line given twice is refused and the other stored",
        ),
        pytest.param(
            TOPIC,
            [
                *_VALID[:5],
                DeadLetter.model_validate_json(
                    b'{"cluster": "c", "kind": "Workload", "reason": "r", "raw": "x",'
                    b' "observed_at": "0001-01-01T00:00:00+05:00"}'
                ),
                *_VALID[5:10],
            ],
            {5: "cannot be stored: OverflowError: date value out of range"},
            id="a dead letter whose time cannot be made UTC is refused, not a crash",
        ),
    ],
)
def test_writer_refused_records_become_dead_letters_and_the_rest_is_stored_once(
    tmp_path: Path, topic: str, items: list[Any], want_refused: dict[int, str]
) -> None:
    db = tmp_path / "w.duckdb"
    writer = BatchWriter(DuckDBSink(db, keep_open=False), retry_s=0.01)
    records = as_records(topic, items)
    result = asyncio.run(writer.store(topic.split(".", 1)[1], records))
    writer.close()

    ids, letters, offsets = stored(db)
    want_ids = sorted(
        {i.event_id for n, i in enumerate(items) if n not in want_refused and hasattr(i, "uid")}
        | {i.event_id for n, i in enumerate(items) if n not in want_refused and topic == QUEUES}
    )
    assert ids == want_ids
    assert offsets == {(topic, 0): len(items)}
    assert result.dead_letters == len(want_refused)
    want_letters = {n: f"(at {topic}[0]@{n})" for n in want_refused}
    assert len(letters) == len(want_refused)
    for n, prefix in want_refused.items():
        [reason] = [r for _, r in letters if r.endswith(want_letters[n])]
        assert reason.startswith(prefix), reason


def test_writer_stores_the_same_refused_batch_again_without_a_second_copy(
    tmp_path: Path,
) -> None:
    db = tmp_path / "w.duckdb"
    items = _VALID[:10] + [broken(_VALID[10], ordinal=2**40)] + _VALID[11:20]
    for _ in range(2):  # a worker killed after storing, before Kafka had the offsets
        writer = BatchWriter(DuckDBSink(db, keep_open=False), retry_s=0.01)
        asyncio.run(writer.store("workload-events", as_records(TOPIC, items)))
        writer.close()
    ids, letters, offsets = stored(db)
    assert ids == sorted(e.event_id for n, e in enumerate(items) if n != 10)
    assert len(letters) == 1
    assert offsets == {(TOPIC, 0): 20}


# Bytes a Kafka record may hold: JSON near a valid event, or anything at all.
_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
_FIELDS = list(json.loads(_VALID[1].model_dump_json()))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid event's JSON with some fields replaced, dropped or added, or raw bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=200))
    document: dict[str, Any] = json.loads(_VALID[draw(st.integers(0, 39))].model_dump_json())
    for name in draw(st.lists(st.sampled_from([*_FIELDS, "extra"]), max_size=3)):
        if draw(st.booleans()):
            document[name] = draw(_JSON_VALUES)
        else:
            document.pop(name, None)
    return json.dumps(document).encode()


@pytest.fixture(scope="module")
def shared_writer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BatchWriter, Path]]:
    """One writer for every example (migrating a file takes most of a second)."""
    db = tmp_path_factory.mktemp("fuzz") / "w.duckdb"
    writer = BatchWriter(DuckDBSink(db, keep_open=False), retry_s=0.01)
    yield writer, db
    writer.close()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(values=st.lists(mutated(), min_size=1, max_size=8))
def test_any_records_are_each_stored_once_or_a_dead_letter(
    shared_writer: tuple[BatchWriter, Path], values: list[bytes]
) -> None:
    writer, db = shared_writer
    topic = f"t{uuid.uuid4().hex[:12]}.workload-events"  # each example its own partition
    messages = [kafka_message(topic, 0, n, value) for n, value in enumerate(values)]
    records = parse_batch("workload-events", messages, TimeWindow(), DAY)
    assert [r.source.offset for r in records] == list(range(len(values)))
    asyncio.run(writer.store("workload-events", records))
    writer.close()  # the file is read below; the writer opens it again

    ids, letters, offsets = stored(db)
    assert offsets[(topic, 0)] == len(values)
    mine = [reason for _, reason in letters if f"(at {topic}[0]@" in reason]
    lettered = {int(reason.rsplit("@", 1)[1].rstrip(")")) for reason in mine}
    assert len(lettered) == len(mine)  # one dead letter per record at most
    for record in records:
        item, offset = record.item, record.source.offset
        if isinstance(item, WorkloadEvent) and offset not in lettered:
            assert item.event_id in ids
        else:
            assert offset in lettered, record
