"""``taskgov serve``: the dashboard, /metrics and the JSON API over the DuckDB record."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from pathlib import Path

import click

from taskgov.cli.options import db_option, duration_option
from taskgov.errors import Fault, InputError
from taskgov.serve.alert_rules import RuleSettings
from taskgov.serve.alerting import Deliveries
from taskgov.serve.service import ServeOptions, launch
from taskgov.settings import load_settings


@click.command("serve")
@click.option("--host", help="Address to listen on (default: the serve_host setting).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port (0: any free one; default: serve_port)."
)
@db_option
@duration_option(
    "--alert-every",
    envvar="TASKGOV_ALERT_EVERY",
    help="Evaluate the alert rules this often (e.g. 1m); without it, no alerts.",
)
@click.option(
    "--alertmanager-url",
    envvar="TASKGOV_ALERTMANAGER_URL",
    default="",
    help="Send alerts to this Alertmanager (v2 API), e.g. http://alertmanager:9093.",
)
@click.option(
    "--alert-topic",
    envvar="TASKGOV_ALERT_TOPIC",
    default="taskgov.alert-events",
    show_default=True,
    help="Kafka topic for alert transitions (with the kafka_bootstrap setting).",
)
@click.option(
    "--recommend-schedule",
    envvar="TASKGOV_RECOMMEND_SCHEDULE",
    help="Cron schedule for `taskgov recommend` runs, e.g. '0 6 * * 1'.",
)
@click.option(
    "--recommend-policy",
    envvar="TASKGOV_RECOMMEND_POLICY",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The policy file scheduled recommendations start from.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log requests and jobs to stderr.")
@click.pass_context
def serve_command(
    context: click.Context,
    host: str | None,
    port: int | None,
    db: Path | None,
    alert_every: timedelta | None,
    alertmanager_url: str,
    alert_topic: str,
    recommend_schedule: str | None,
    recommend_policy: Path | None,
    verbose: bool,
) -> None:
    """Serve the dashboard, Prometheus /metrics and a JSON API, read-only over the record.

    \b
    The first line printed is the URL served. Pages: / (cluster), /page/team,
    /page/recommendations, /page/timeline, /page/why; /metrics for Prometheus; /healthz and
    /readyz for probes; /api/NAME for the data behind each chart. Stops on Ctrl-C or SIGTERM.
    Examples:
      taskgov serve --port 0                          any free port
      taskgov serve --alert-every 1m --alertmanager-url http://127.0.0.1:9093
      TASKGOV_SERVE_HOST=0.0.0.0 taskgov serve        in a container
    """
    settings = load_settings(context.find_root().obj["config_file"])
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
    if recommend_schedule and not recommend_policy:
        raise InputError(
            [Fault("--recommend-schedule", recommend_schedule, "", "needs --recommend-policy")]
        )
    options = ServeOptions(
        db_path=db or settings.duckdb_path,
        host=host or settings.serve_host,
        port=settings.serve_port if port is None else port,
        alert_every=alert_every,
        rules=RuleSettings(),
        deliveries=Deliveries(alertmanager_url, settings.kafka_bootstrap, alert_topic),
        recommend_schedule=recommend_schedule,
        recommend_policy=recommend_policy,
        kafka_bootstrap=settings.kafka_bootstrap,
    )
    service = launch(options)
    click.echo(service.url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    finally:
        service.close()
