"""The demo's live half: local broker, twin API server and watcher, with events as they flow."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import click
import duckdb
from kafka import KafkaConsumer

from streams.events import WorkloadEvent
from streams.watcher import Watcher, WatcherConfig
from taskgov.broker import ensure_topics, local_broker
from taskgov.twin.scenario import Scenario
from taskgov.twin.serve import serve_twin


def play_live(scenario: Scenario, speed: float, db_path: Path, bootstrap: str | None = None) -> int:
    """Serve the scenario, watch it into Kafka, print each event read back, and store them
    in ``db_path`` with the Faust worker; returns the number of workload events."""
    with tempfile.TemporaryDirectory(prefix="taskgov-demo-") as tmp:
        workdir = Path(tmp)
        if bootstrap is None:
            with local_broker(workdir / "broker") as broker:
                count = _play(scenario, speed, broker.bootstrap, workdir)
                _store(broker.bootstrap, db_path, count)
                return count
        count = _play(scenario, speed, bootstrap, workdir)
        _store(bootstrap, db_path, count)
        return count


def _stored(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    try:
        with duckdb.connect(str(db_path), read_only=True) as conn:
            row = conn.execute("SELECT count(*) FROM workload_events").fetchone()
    except duckdb.Error:
        return 0
    return int(row[0]) if row else 0


def _store(bootstrap: str, db_path: Path, expected: int) -> None:
    """Run `taskgov worker` until DuckDB holds every event the watcher sent."""
    click.echo(f"== taskgov worker: Kafka -> Faust -> DuckDB ({db_path})")
    worker = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [
            sys.executable,
            "-m",
            "taskgov.cli",
            "worker",
            "--db",
            str(db_path),
            "--topic-prefix",
            "demo",
            "--app-id",
            f"taskgov-demo-{uuid.uuid4().hex[:8]}",
        ],
        env={**os.environ, "TASKGOV_KAFKA_BOOTSTRAP": bootstrap},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and _stored(db_path) < expected:
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(30)
    click.echo(f"   {_stored(db_path)} workload events stored")


def _play(scenario: Scenario, speed: float, bootstrap: str, workdir: Path) -> int:
    config = WatcherConfig(
        bootstrap=bootstrap,
        checkpoint=workdir / "checkpoint.json",
        kubeconfig=workdir / "kubeconfig",
        events_topic="demo.workload-events",
        queues_topic="demo.clusterqueue-events",
        dead_letter_topic="demo.dead-letter",
    )
    ensure_topics(
        bootstrap, {config.events_topic: 3, config.queues_topic: 1, config.dead_letter_topic: 1}
    )
    server = serve_twin(scenario, kubeconfig=config.kubeconfig, speed=speed, paused=True)
    click.echo(
        f"broker {bootstrap}; twin API server {server.url} (speed {speed:g}x); watcher -> "
        f"{config.events_topic}"
    )
    watcher = Watcher(config)
    stop, synced = threading.Event(), threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop, synced), daemon=True)
    thread.start()
    consumer = KafkaConsumer(
        config.events_topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1500,
    )
    shown = 0
    try:
        synced.wait(30)
        server.live.resume()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            got = False
            for record in consumer:
                event = WorkloadEvent.model_validate_json(record.value)
                got = True
                shown += 1
                detail = f" {event.reason}" if event.reason else ""
                click.echo(
                    f"  kafka> {event.occurred_at:%H:%M:%S} {event.team:<7} {event.name:<44} "
                    f"{event.event_type}#{event.ordinal}{detail}"
                )
            if server.live.done.is_set() and not got:
                break
    finally:
        consumer.close()
        stop.set()
        thread.join(30)
        server.stop()
    return shown
