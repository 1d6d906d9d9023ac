"""The watcher's start-up read-back over a topic holding records that are not its events.

And a watcher whose broker stays away past ``max_outage_s`` stops by itself (exit 1).

Before issue 17 one such record (``b"not json"``) made every start exit 1 with a
ValidationError naming neither topic nor offset. Now each is skipped and logged as
``topic[partition]@offset``, and the events around it still count.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from pathlib import Path

import pytest

from streams.broker_health import BrokerUnreachable
from streams.poison import POISON, workload_document
from streams.watcher import Watcher, WatcherConfig
from taskgov.broker import ensure_topics, stop_broker
from tests.streams.helpers import produce
from tests.streams.worker_runs import private_broker

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def _poison(name: str) -> bytes:
    [case] = [case for case in POISON if case.name.startswith(name)]
    return case.record(0)[2]


@pytest.mark.parametrize(
    ("bad", "want_skipped"),
    [
        pytest.param([b"not json"], 1, id="text that is not JSON is skipped"),
        pytest.param([b""], 1, id="an empty record is skipped"),
        pytest.param([_poison("a JSON array nested")], 1, id="JSON nested 20,000 deep is skipped"),
        pytest.param(
            [_poison("an ordinal of 2**40"), _poison("1 MB of garbage"), b"{}"],
            3,
            id="an out-of-bounds event, 1 MB of garbage and an empty object are all skipped",
        ),
    ],
)
def test_watcher_read_back_skips_records_that_are_not_events_and_names_them(
    kafka_bootstrap: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    bad: list[bytes],
    want_skipped: int,
) -> None:
    prefix = f"wb{uuid.uuid4().hex[:10]}"
    topic = f"{prefix}.workload-events"
    ensure_topics(kafka_bootstrap, {topic: 3})
    valid = [
        ("workload-events", f"poison-{n}", json.dumps(workload_document(n)).encode())
        for n in range(12)
    ]
    records = valid[:6] + [("workload-events", "bad", value) for value in bad] + valid[6:]
    positions = produce(kafka_bootstrap, prefix, records)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    config = WatcherConfig(
        bootstrap=kafka_bootstrap,
        checkpoint=tmp_path / "checkpoint.json",
        kubeconfig=kubeconfig,
        events_topic=topic,
    )
    watcher = Watcher(config)
    try:
        with caplog.at_level(logging.WARNING, logger="taskgov.watcher"):
            found = watcher.recover()
    finally:
        watcher.producer.close(timeout=5)

    assert found == len(valid)
    assert watcher.unreadable == want_skipped
    assert sorted(watcher.progress.workloads) == sorted(f"poison-{n}" for n in range(12))
    skipped = [r.getMessage() for r in caplog.records if "unreadable_record_skipped" in r.message]
    want_named = sorted(f"record={t}[{p}]@{o}" for t, p, o in positions[6 : 6 + len(bad)])
    assert sorted(m.split()[1] for m in skipped) == want_named
    want_offsets = {}
    for _, partition, offset in positions:
        want_offsets[partition] = max(want_offsets.get(partition, 0), offset + 1)
    assert watcher.progress.offsets == want_offsets


def test_watcher_gives_up_after_max_outage_with_the_events_still_pending(
    tmp_path: Path,
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    with private_broker(tmp_path / "broker") as broker:
        config = WatcherConfig(
            bootstrap=broker.bootstrap,
            checkpoint=tmp_path / "checkpoint.json",
            kubeconfig=kubeconfig,
            events_topic=f"gone{uuid.uuid4().hex[:10]}.workload-events",
            max_outage_s=3,
        )
        watcher = Watcher(config)
        stop_broker(tmp_path / "broker")
        document = workload_document(1)
        watcher.pending.append((config.events_topic, "k", json.dumps(document).encode(), None))
        stop = threading.Event()
        started = time.monotonic()
        watcher.flush(stop)
        took = time.monotonic() - started
        watcher.producer.close(timeout=1)
    assert isinstance(watcher.failure, BrokerUnreachable)
    assert str(watcher.failure).startswith(f"cannot reach the Kafka broker at {broker.bootstrap}")
    assert stop.is_set()
    assert 3 <= took < 60
    assert len(watcher.pending) == 1 and watcher.sent == 0
    assert not config.checkpoint.exists()
