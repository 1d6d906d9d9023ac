"""``taskgov worker``: the Faust worker that writes the watcher's events into DuckDB."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from streams.agents.events import register_agents
from streams.app import WorkerSettings, make_app
from streams.sink_duckdb import DuckDBSink
from taskgov.broker import resolve_bootstrap
from taskgov.settings import load_settings


@click.command("worker")
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="DuckDB file [settings: duckdb_path].",
)
@click.option(
    "--topic-prefix", default="taskgov", show_default=True, help="Read PREFIX.workload-events etc."
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".taskgov"),
    envvar="TASKGOV_STATE_DIR",
    show_default=True,
    help="Where `taskgov broker` records the local broker.",
)
@click.option(
    "--app-id",
    default="taskgov-worker",
    show_default=True,
    help="Kafka consumer group of the worker.",
)
@click.pass_context
def worker_command(
    context: click.Context, db_path: Path | None, topic_prefix: str, state_dir: Path, app_id: str
) -> None:
    """Consume workload, ClusterQueue and dead-letter events and store them in DuckDB.

    \\b
    The event log is keyed by event id, so at-least-once delivery gives exact totals; the
    utilization aggregates are refreshed in the same transaction as each batch.
    Then: taskgov report utilization --db FILE
    """
    settings = load_settings(context.obj["config_file"])
    worker_settings = WorkerSettings(
        bootstrap=resolve_bootstrap(settings, state_dir),
        duckdb_path=db_path or settings.duckdb_path,
        topic_prefix=topic_prefix,
        app_id=app_id,
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)
    app = make_app(worker_settings)
    # Closed between flushes, so `taskgov report` can read the file while the worker runs.
    sink = DuckDBSink(worker_settings.duckdb_path, keep_open=False)
    register_agents(app, worker_settings, sink)
    worker = app.Worker(loglevel="WARNING", quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        sink.close()
