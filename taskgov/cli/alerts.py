"""``taskgov alerts``: send starvation alerts to Kafka from the DuckDB system of record."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from pathlib import Path

import click

from streams.alerts import ALERT_COLUMNS, new_alerts, ongoing_starvation, read_sent, send
from taskgov.broker import ensure_topics, resolve_bootstrap
from taskgov.cli.options import (
    db_option,
    duration_option,
    output_option,
    state_dir_option,
    topic_prefix_option,
)
from taskgov.cli.output import render_rows
from taskgov.settings import load_settings
from taskgov.store import open_read_only


@click.command("alerts")
@db_option
@click.option(
    "--min-minutes",
    type=click.IntRange(min=1),
    default=15,
    show_default=True,
    help="Alert once an episode has lasted this many minutes.",
)
@duration_option(
    "--lookback",
    default="168h",
    help="How far back episodes are read (a duration: 90m, 24h).",
)
@duration_option(
    "--every",
    help="Keep running, evaluating every this long (e.g. 1m); without it, evaluate once.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send nothing.")
@topic_prefix_option
@state_dir_option
@output_option()
@click.pass_context
def alerts_command(
    context: click.Context,
    db: Path | None,
    min_minutes: int,
    lookback: timedelta,
    every: timedelta | None,
    dry_run: bool,
    topic_prefix: str,
    state_dir: Path,
    output: str,
) -> None:
    """Alert on teams starved of their own guarantee: waiting while part of it is unused.

    \b
    An episode (see `taskgov report starvation`) still going on at the watermark that has
    lasted --min-minutes gets one alert on PREFIX.alerts (keyed by team, JSON with a
    message), however often this runs: the topic is read back first. Prints the alerts sent.
    Examples:
      taskgov alerts --min-minutes 30               once, e.g. from cron
      taskgov alerts --every 1m                     keep watching
      taskgov alerts --dry-run -o json              what would fire now
    """
    settings = load_settings(context.obj["config_file"])
    db_path = db or settings.duckdb_path
    topic = f"{topic_prefix}.alerts"
    bootstrap = "" if dry_run else resolve_bootstrap(settings, state_dir)
    if bootstrap:
        ensure_topics(bootstrap, {topic: 1})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        conn = open_read_only(db_path)
        try:
            current = ongoing_starvation(conn, min_minutes=min_minutes, lookback=lookback)
        finally:
            conn.close()
        fresh = new_alerts(current, read_sent(bootstrap, topic)) if bootstrap else current
        if bootstrap:
            send(bootstrap, topic, fresh)
        rows = [alert.model_dump(mode="json") for alert in fresh]
        if rows or output not in ("table", "wide"):
            click.echo(render_rows(rows, ALERT_COLUMNS, output), nl=False)  # type: ignore[arg-type]
        click.echo(
            f"{len(fresh)} alert(s) {'would be ' if dry_run else ''}sent, "
            f"{len(current) - len(fresh)} already sent",
            err=True,
        )
        if every is None or stop.wait(every.total_seconds()):
            return
