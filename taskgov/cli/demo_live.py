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
from kafka import KafkaConsumer

from streams.events import WorkloadEvent
from streams.watcher import Watcher, WatcherConfig
from taskgov.broker import ensure_topics, local_broker
from taskgov.errors import TaskgovError
from taskgov.store import QueryError, connect_read_only
from taskgov.twin.scenario import Scenario
from taskgov.twin.serve import serve_twin

PROGRESS_EVERY_S = 5.0


def play_live(
    scenario: Scenario, *, speed: float, db_path: Path, state_dir: Path, show_events: bool = True
) -> int:
    """Serve the scenario, watch it into Kafka, and store the events in ``db_path`` with the
    Faust worker; returns the number of workload events.

    With ``show_events`` each event read back is printed; otherwise a progress line every
    few seconds (a trace sends tens of thousands). The broker, kubeconfig and checkpoint live
    in a temporary folder removed at the end; the worker's log and Faust's data folder stay
    in ``state_dir``. Keyword-only: ``db_path`` and ``state_dir`` are both paths, and a
    swap would write the record into the state folder.
    """
    with tempfile.TemporaryDirectory(prefix="taskgov-demo-") as tmp:
        workdir = Path(tmp)
        with local_broker(workdir / "broker") as broker:
            count = _play(scenario, speed, broker.bootstrap, workdir, show_events)
            _store(broker.bootstrap, db_path, state_dir, count)
            return count


def _stored(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    try:
        with connect_read_only(db_path, lock_wait_s=0) as conn:
            row = conn.execute("SELECT count(*) FROM workload_events").fetchone()
    except (TaskgovError, QueryError):
        return 0
    return int(row[0]) if row else 0


def _store(bootstrap: str, db_path: Path, state_dir: Path, expected: int) -> None:
    """Run `taskgov worker` until DuckDB holds every event the watcher sent."""
    log_path = state_dir / "demo-worker.log"
    click.echo(f"== taskgov worker: Kafka -> Faust -> DuckDB ({db_path}; log {log_path})")
    log = log_path.open("w")
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
            "--state-dir",
            str(state_dir),
            "--app-id",
            f"taskgov-demo-{uuid.uuid4().hex[:8]}",
        ],
        env={**os.environ, "TASKGOV_KAFKA_BOOTSTRAP": bootstrap},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # Generous: the worker stores thousands of events a second once it has started.
        deadline = time.monotonic() + 90 + expected / 500
        while time.monotonic() < deadline and _stored(db_path) < expected:
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()
    stored = _stored(db_path)
    click.echo(f"   {stored} workload events stored")
    if stored < expected:
        click.echo(f"   the worker stored {expected - stored} fewer; see {log_path}", err=True)


def _play(
    scenario: Scenario, speed: float, bootstrap: str, workdir: Path, show_events: bool
) -> int:
    kubeconfig = workdir / "kubeconfig"
    config = WatcherConfig(
        bootstrap=bootstrap,
        checkpoint=workdir / "checkpoint.json",
        kubeconfig=kubeconfig,
        events_topic="demo.workload-events",
        queues_topic="demo.clusterqueue-events",
        dead_letter_topic="demo.dead-letter",
    )
    # One partition: the events are read back (and printed) in the order they happened.
    ensure_topics(
        bootstrap, {config.events_topic: 1, config.queues_topic: 1, config.dead_letter_topic: 1}
    )
    server = serve_twin(scenario, kubeconfig=kubeconfig, speed=speed, paused=True)
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
    last_sent = scenario.workloads[-1].submit_at_ms / 1000 if scenario.workloads else 0.0
    try:
        synced.wait(30)
        server.live.resume()
        deadline = time.monotonic() + 120 + last_sent / speed
        return _read_back(consumer, server.live.done, deadline, show_events)
    finally:
        consumer.close()
        stop.set()
        thread.join(30)
        server.stop()


def _read_back(
    consumer: KafkaConsumer, done: threading.Event, deadline: float, show_events: bool
) -> int:
    """Read the events back until the twin is done and Kafka is quiet; print each, or progress."""
    shown = 0
    progress_at = time.monotonic() + PROGRESS_EVERY_S
    while time.monotonic() < deadline:
        got = False
        for record in consumer:
            event = WorkloadEvent.model_validate_json(record.value)
            got = True
            shown += 1
            if show_events:
                detail = f" {event.reason}" if event.reason else ""
                click.echo(
                    f"  kafka> {event.occurred_at:%H:%M:%S} {event.team:<7} "
                    f"{event.name:<44} {event.event_type}#{event.ordinal}{detail}"
                )
            elif time.monotonic() >= progress_at:
                progress_at = time.monotonic() + PROGRESS_EVERY_S
                click.echo(f"  {shown:,} events in Kafka; twin at {event.occurred_at:%F %R}")
        if done.is_set() and not got:
            break
    return shown
