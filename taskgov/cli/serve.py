"""``taskgov serve``: the dashboard, /metrics and the JSON API over the DuckDB record."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click

from taskgov.cli.options import db_option
from taskgov.serve.server import App, start
from taskgov.settings import load_settings


@click.command("serve")
@click.option("--host", help="Address to listen on (default: the serve_host setting).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port (0: any free one; default: serve_port)."
)
@db_option
@click.option("-v", "--verbose", is_flag=True, help="Log every request to stderr.")
@click.pass_context
def serve_command(
    context: click.Context, host: str | None, port: int | None, db: Path | None, verbose: bool
) -> None:
    """Serve the dashboard, Prometheus /metrics and a JSON API, read-only over the record.

    \b
    The first line printed is the URL served. Pages: / (cluster), /page/team,
    /page/recommendations, /page/timeline; /metrics for Prometheus; /healthz and /readyz
    for probes; /api/NAME for the data behind each chart. Stops on Ctrl-C or SIGTERM.
    Examples:
      taskgov serve --port 0                 any free port
      TASKGOV_SERVE_HOST=0.0.0.0 taskgov serve   in a container
    """
    settings = load_settings(context.find_root().obj["config_file"])
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
    running = start(
        App(db or settings.duckdb_path),
        host or settings.serve_host,
        settings.serve_port if port is None else port,
    )
    click.echo(running.url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    finally:
        running.close()
