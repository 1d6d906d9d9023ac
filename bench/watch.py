"""Events per second from the twin's API server through the watcher into Kafka.

Beside it, kafka-python's raw produce rate of records of the same size, measured in the
same run against the same broker, so the ratio means something on a noisy machine.

    .venv/bin/python bench/watch.py [--workloads 5000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafka import KafkaProducer  # noqa: E402

from streams.synthetic import busy_cluster  # noqa: E402
from streams.watcher import Watcher, WatcherConfig  # noqa: E402
from taskgov.broker import ensure_topics, local_broker  # noqa: E402
from taskgov.twin.serve import serve_twin  # noqa: E402


def raw_produce_rate(bootstrap: str, topic: str, count: int, size: int) -> float:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    payload = b"x" * size
    started = time.perf_counter()
    for i in range(count):
        producer.send(topic, key=str(i % 1000).encode(), value=payload)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return count / elapsed


def watcher_rate(bootstrap: str, workloads: int, workdir: Path) -> tuple[float, int, float]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    kubeconfig = workdir / "kubeconfig"
    config = WatcherConfig(
        bootstrap=bootstrap,
        checkpoint=workdir / "checkpoint.json",
        kubeconfig=kubeconfig,
        events_topic=f"{prefix}.workload-events",
        queues_topic=f"{prefix}.clusterqueue-events",
        dead_letter_topic=f"{prefix}.dead-letter",
    )
    ensure_topics(
        bootstrap, {config.events_topic: 6, config.queues_topic: 1, config.dead_letter_topic: 1}
    )
    # Play the whole scenario first, then time the watcher's list of every object.
    server = serve_twin(busy_cluster(workloads), kubeconfig=kubeconfig, speed=1e9)
    server.live.done.wait(600)
    watcher = Watcher(config)
    stop, synced = threading.Event(), threading.Event()
    started = time.perf_counter()
    thread = threading.Thread(target=watcher.run, args=(stop, synced))
    thread.start()
    synced.wait(600)
    elapsed = time.perf_counter() - started
    stop.set()
    thread.join(60)
    server.stop()
    return watcher.sent / elapsed, watcher.sent, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, local_broker(Path(tmp) / "broker") as broker:
        bootstrap = os.environ.get("TASKGOV_KAFKA_BOOTSTRAP") or broker.bootstrap
        rate, sent, elapsed = watcher_rate(bootstrap, args.workloads, Path(tmp))
        topic = f"raw{uuid.uuid4().hex[:8]}"
        ensure_topics(bootstrap, {topic: 6})
        raw = raw_produce_rate(bootstrap, topic, sent, 900)
    print(
        f"watcher: {sent:,} events from {args.workloads:,} workloads in {elapsed:.2f} s"
        f" = {rate:,.0f} events/s"
    )
    print(f"kafka-python raw produce, {sent:,} records of 900 bytes: {raw:,.0f} records/s")
    print(f"ratio watcher / raw produce = {rate / raw:.2f}")


if __name__ == "__main__":
    main()
