"""``taskgov worker``: the Faust worker that writes the watcher's events into DuckDB."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import click

from streams.agents.audit import schedule_audits
from streams.agents.events import BatchWriter, register_agents
from streams.agents.records import TimeWindow
from streams.app import (
    BATCH_SIZE,
    BATCH_WINDOW_S,
    SESSION_TIMEOUT_S,
    WorkerApp,
    WorkerSettings,
    check_broker,
    make_app,
)
from streams.sink_duckdb import DuckDBSink
from taskgov.broker import resolve_bootstrap
from taskgov.cli.options import (
    db_option,
    max_outage_option,
    seconds_option,
    state_dir_option,
    topic_prefix_option,
)
from taskgov.errors import TaskgovError
from taskgov.settings import load_settings

LOG_LEVELS = ("debug", "info", "warning", "error")


@click.command("worker")
@db_option
@topic_prefix_option
@state_dir_option
@click.option(
    "--app-id",
    default="taskgov-worker",
    show_default=True,
    help="Kafka consumer group of the worker (Faust keeps STATE_DIR/faust/APP_ID).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=BATCH_SIZE,
    show_default=True,
    help="Most records per DuckDB transaction.",
)
@seconds_option(
    "--batch-window",
    minimum=0.01,
    default=BATCH_WINDOW_S,
    help="Seconds a batch may wait to fill.",
)
@seconds_option(
    "--connect-timeout",
    minimum=0.1,
    default=10.0,
    help="Seconds to wait for the broker at start before giving up.",
)
@seconds_option(
    "--session-timeout",
    minimum=1.0,
    default=SESSION_TIMEOUT_S,
    help="Consumer group session timeout; a start waits about half of it (on Tansu). "
    "Apache Kafka refuses less than its group.min.session.timeout.ms (6 s by default).",
)
@max_outage_option("the broker may stay unreachable before the worker")
@seconds_option(
    "--audit-every",
    minimum=0.0,
    help="Seconds between the worker's audits of the aggregates it changed against the log "
    "(assert_aggregates_match_log), run between batches; rows found are logged as "
    "event=audit_failed, no pass is recorded and the worker goes on; 0: never "
    "[settings: audit_every_s, 3600].",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS),
    default="warning",
    show_default=True,
    help="info logs every stored batch (records, seconds, offsets) and every seek.",
)
@click.pass_context
def worker_command(
    context: click.Context,
    db: Path | None,
    topic_prefix: str,
    state_dir: Path,
    app_id: str,
    batch_size: int,
    batch_window_s: float,
    connect_timeout_s: float,
    session_timeout_s: float,
    max_outage_s: float | None,
    audit_every_s: float | None,
    log_level: str,
) -> None:
    """Consume workload, ClusterQueue and dead-letter events and store them in DuckDB.

    \b
    The event log is keyed by event id, so at-least-once delivery gives exact totals; the
    utilization aggregates and the next Kafka offset of each partition are written in the
    same transaction as each batch, and a (re)started worker reads on from those offsets.
    A record that cannot be stored (unreadable, out of bounds, a time outside
    [event_time_earliest, clock + event_time_max_ahead_days]) is kept as a dead letter.

    \b
    Exit codes: 1 the broker stayed unreachable past --max-outage, or a runtime failure;
    4 the broker holds fewer records than DuckDB has read, or a topic DuckDB read from has a
    new id (a topic recreated, or the broker restarted empty): the worker stops rather than
    skip the new records.
    Then: taskgov report utilization --db FILE
    """
    settings = load_settings(context.obj["config_file"])
    worker_settings = WorkerSettings(
        bootstrap=resolve_bootstrap(settings, state_dir),
        duckdb_path=db or settings.duckdb_path,
        topic_prefix=topic_prefix,
        app_id=app_id,
        batch_size=batch_size,
        batch_window_s=batch_window_s,
        session_timeout_s=session_timeout_s,
        max_outage_s=max_outage_s or settings.broker_max_outage_s,
        audit_every_s=settings.audit_every_s if audit_every_s is None else audit_every_s,
    )
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    missing = check_broker(worker_settings, connect_timeout_s)
    # Closed between flushes, so `taskgov report` can read the file while the worker runs.
    sink = DuckDBSink(worker_settings.duckdb_path, keep_open=False)
    window = TimeWindow(
        settings.event_time_earliest, timedelta(days=settings.event_time_max_ahead_days)
    )
    writer = BatchWriter(sink, window=window)
    app = _faust_app(worker_settings, writer, state_dir)
    worker = app.Worker(loglevel=log_level.upper(), quiet=True)
    if not sys.stdout.isatty():
        worker.spinner = None  # its cursor codes would be all a log file holds
    _log_start(worker_settings, missing)
    try:
        worker.execute_from_commandline()
    finally:
        writer.close()
        sys.stderr.flush()


def _faust_app(settings: WorkerSettings, writer: BatchWriter, state_dir: Path) -> WorkerApp:
    """The Faust app with the agents that hand batches to ``writer``."""
    app = make_app(settings, writer)
    # Faust creates a data folder (empty with the memory store): keep it with taskgov's state,
    # not in the working directory.
    (state_dir / "faust").mkdir(parents=True, exist_ok=True)
    app.conf.datadir = state_dir / "faust" / settings.app_id
    app.on_fatal = _exit_at_once(writer)
    register_agents(app, settings, writer)
    schedule_audits(app, settings, writer)
    return app


def _exit_at_once(writer: BatchWriter) -> Callable[[TaskgovError], None]:
    def exit_now(error: TaskgovError) -> None:
        """Stop at once: every stored batch is committed with its offsets (as after SIGKILL),
        and Faust's own shutdown would wait on the broker."""
        writer.close()
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            if stream is not None:
                stream.flush()
        # Straight to file descriptor 2: Faust has replaced sys.stderr with a logger.
        os.write(2, f"error: {error}\n".encode())
        os._exit(error.exit_code)

    return exit_now


def _log_start(settings: WorkerSettings, missing: list[str]) -> None:
    log = logging.getLogger("taskgov.worker")
    if missing:
        log.warning("event=topics_missing topics=%s (read once created)", ",".join(missing))
    log.info(
        "event=worker_start bootstrap=%s group=%s db=%s batch_size=%d",
        settings.bootstrap,
        settings.app_id,
        settings.duckdb_path,
        settings.batch_size,
    )
