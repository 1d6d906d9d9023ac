"""The watcher against the twin's API server and a real broker: every transition, exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

from streams.events import COUNTED_TYPES
from streams.watcher import Watcher, WatcherConfig, wait_for
from taskgov.broker import ensure_topics
from taskgov.policy.load import read_documents
from taskgov.scenarios import scenario_from_documents
from taskgov.twin.apiserver import Chaos
from taskgov.twin.render import timestamp
from taskgov.twin.serve import serve_twin
from tests.streams.helpers import busy_cluster, expected_ids, ledger_transitions, read_topic

SEED = Path(__file__).parents[2] / "taskgov" / "data" / "seed" / "scenario.yaml"


def topics(bootstrap: str) -> dict[str, str]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    names = {
        "prefix": prefix,
        "events": f"{prefix}.workload-events",
        "queues": f"{prefix}.clusterqueue-events",
        "dead": f"{prefix}.dead-letter",
    }
    ensure_topics(bootstrap, {names["events"]: 3, names["queues"]: 1, names["dead"]: 1})
    return names


def watcher_config(
    bootstrap: str, names: dict[str, str], tmp_path: Path, kubeconfig: Path
) -> WatcherConfig:
    return WatcherConfig(
        bootstrap=bootstrap,
        checkpoint=tmp_path / "checkpoint.json",
        kubeconfig=kubeconfig,
        events_topic=names["events"],
        queues_topic=names["queues"],
        dead_letter_topic=names["dead"],
        watch_timeout_s=5,
    )


def counted(records: list[dict]) -> list[dict]:
    return [r for r in records if r["event_type"] in COUNTED_TYPES]


def test_watcher_events_equal_the_seed_ledger_one_for_one(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    names = topics(kafka_bootstrap)
    scenario = scenario_from_documents(read_documents(SEED.read_text(), "seed.yaml"))
    server = serve_twin(scenario, kubeconfig=tmp_path / "kubeconfig", speed=300, paused=True)
    watcher = Watcher(watcher_config(kafka_bootstrap, names, tmp_path, server.kubeconfig))
    stop, synced = threading.Event(), threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop, synced))
    thread.start()
    try:
        assert synced.wait(30)
        server.live.resume()
        assert server.live.done.wait(30)
        want = ledger_transitions(server.live.twin)
        total = sum(len(t) for t in want.values())
        assert wait_for(
            lambda: len(counted(read_topic(kafka_bootstrap, names["events"], 500))) >= total, 30
        )
    finally:
        stop.set()
        thread.join(30)
        server.stop()
    got: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for record in counted(read_topic(kafka_bootstrap, names["events"])):
        assert not record["inferred"], record
        got[record["uid"]].append(
            (record["event_type"], record["ordinal"], record["occurred_at"].replace("+00:00", "Z"))
        )
    epoch = server.live.epoch
    assert dict(got) == {
        uid: [(kind, ordinal, timestamp(ms, epoch)) for kind, ordinal, ms in transitions]
        for uid, transitions in want.items()
    }
    assert total == 15


def test_watcher_sends_malformed_workloads_to_the_dead_letter_topic(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    names = topics(kafka_bootstrap)
    scenario = scenario_from_documents(read_documents(SEED.read_text(), "seed.yaml"))
    server = serve_twin(scenario, kubeconfig=tmp_path / "kubeconfig", speed=1000, malformed=200)
    watcher = Watcher(watcher_config(kafka_bootstrap, names, tmp_path, server.kubeconfig))
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,))
    thread.start()
    try:
        assert server.live.done.wait(30)
        want = expected_ids(server.live.twin, "default")
        assert wait_for(
            lambda: (
                {r["event_id"] for r in counted(read_topic(kafka_bootstrap, names["events"], 500))}
                == want
            ),
            30,
        )
    finally:
        stop.set()
        thread.join(30)
        server.stop()
    letters = read_topic(kafka_bootstrap, names["dead"])
    assert len(letters) == 200
    reasons = Counter(letter["reason"] for letter in letters)
    assert reasons == {
        "spec must be a mapping, got NoneType": 25,
        "spec.podSets: must be a list, got str": 25,
        "spec.podSets[0].count: must be an integer, got str": 25,
        "apiVersion 'kueue.x-k8s.io/v9' is not one of kueue.x-k8s.io/v1beta1, kueue.x-k8s.io/v1beta2": 25,
        "status.conditions must be a list, got str": 25,
        "metadata.uid is missing": 25,
        "spec.podSets[0].template.spec.containers[0].resources.requests.cpu: 'lots' is not a quantity": 25,
        "status.conditions[0].lastTransitionTime must be an RFC 3339 time, got 'yesterday'": 25,
    }


def test_kubectl_lists_the_twins_workloads(tmp_path: Path) -> None:
    scenario = scenario_from_documents(read_documents(SEED.read_text(), "seed.yaml"))
    server = serve_twin(scenario, kubeconfig=tmp_path / "kubeconfig", speed=10_000)
    try:
        assert server.live.done.wait(30)
        result = subprocess.run(
            ["kubectl", "--kubeconfig", str(server.kubeconfig), "get", "workloads", "-A"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0] == [
        "NAMESPACE",
        "NAME",
        "QUEUE",
        "RESERVED",
        "IN",
        "ADMITTED",
        "FINISHED",
        "AGE",
    ]
    assert [row[:5] for row in rows[1:]] == [
        [
            "hyperpod-ns-team-a",
            "pytorchjob-imagenet-gpu-team-a-1-3217d",
            "hyperpod-ns-team-a-localqueue",
            "False",
            row_age(rows[1]),
        ],
        [
            "hyperpod-ns-team-b",
            "pytorchjob-hyperpod-cli-mnist-team-b-14c52",
            "hyperpod-ns-team-b-localqueue",
            "False",
            row_age(rows[2]),
        ],
        [
            "hyperpod-ns-team-b",
            "pytorchjob-imagenet-gpu-team-b-2-8cfee",
            "hyperpod-ns-team-b-localqueue",
            "hyperpod-ns-team-b-clusterqueue",
            "True",
        ],
    ]


def row_age(row: list[str]) -> str:
    return row[-1]


def start_watcher_process(
    bootstrap: str, names: dict[str, str], tmp_path: Path, kubeconfig: Path
) -> subprocess.Popen[bytes]:
    log = (tmp_path / "watcher.log").open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "taskgov.cli",
            "watch",
            "--kubeconfig",
            str(kubeconfig),
            "--checkpoint",
            str(tmp_path / "checkpoint.json"),
            "--topic-prefix",
            names["prefix"],
            "--partitions",
            "3",
        ],
        stdout=log,
        stderr=log,
        env={**os.environ, "TASKGOV_KAFKA_BOOTSTRAP": bootstrap},
    )


def test_watcher_survives_disconnects_410s_and_sigkill_without_loss_or_duplicates(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    names = topics(kafka_bootstrap)
    started = time.monotonic()
    chaos = Chaos(disconnect_every=1, max_disconnects=90, gone_every=10, max_gones=10)
    server = serve_twin(
        busy_cluster(10_000),
        kubeconfig=tmp_path / "kubeconfig",
        speed=8,
        history=20_000,
        chaos=chaos,
    )
    process = start_watcher_process(kafka_bootstrap, names, tmp_path, server.kubeconfig)
    try:
        for _ in range(5):
            time.sleep(2)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            process = start_watcher_process(kafka_bootstrap, names, tmp_path, server.kubeconfig)
        assert server.live.done.wait(240)
        print(f"twin done after {time.monotonic() - started:.1f}s")
        want = expected_ids(server.live.twin, "default")
        assert wait_for(
            lambda: len(counted(read_topic(kafka_bootstrap, names["events"], 1000))) >= len(want),
            120,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        server.stop()
    print(f"watcher caught up after {time.monotonic() - started:.1f}s")
    records = counted(read_topic(kafka_bootstrap, names["events"]))
    ids = [record["event_id"] for record in records]
    duplicated = [i for i, n in Counter(ids).items() if n > 1]
    assert duplicated == []
    assert set(ids) == want
    disconnects, gones = server.faults()
    assert (disconnects, gones) == (90, 10)
    assert len(server.live.twin.preemptions) > 0
