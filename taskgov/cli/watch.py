"""``taskgov watch``: stream a cluster's Kueue workload events into Kafka."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click

from streams.watcher import Watcher, WatcherConfig
from taskgov.broker import ensure_topics, resolve_bootstrap
from taskgov.cli.options import (
    kueue_api_version_option,
    max_outage_option,
    state_dir_option,
    topic_prefix_option,
)
from taskgov.settings import load_settings


@click.command("watch")
@click.option(
    "--kubeconfig",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Kubeconfig of the cluster (default: in-cluster, then ~/.kube/config).",
)
@click.option(
    "--cluster", default="default", show_default=True, help="Cluster name stamped on every event."
)
@kueue_api_version_option
@click.option(
    "--checkpoint",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(".taskgov/watcher-checkpoint.json"),
    show_default=True,
    help="Where the watcher remembers what it has sent.",
)
@state_dir_option
@click.option(
    "--partitions",
    type=int,
    default=6,
    show_default=True,
    help="Partitions of the events topic when created.",
)
@topic_prefix_option
@max_outage_option("sends to the broker may keep failing before the watcher")
@click.pass_context
def watch_command(
    context: click.Context,
    kubeconfig: Path | None,
    cluster: str,
    api_version: str | None,
    checkpoint: Path,
    state_dir: Path,
    partitions: int,
    topic_prefix: str,
    max_outage_s: float | None,
) -> None:
    """List, then watch, Workloads and ClusterQueues and send their events to Kafka.

    \b
    Topics: PREFIX.workload-events (keyed by workload UID), PREFIX.clusterqueue-events,
    PREFIX.dead-letter (objects that could not be read, with the reason).
    The broker is TASKGOV_KAFKA_BOOTSTRAP, or the one `taskgov broker start` runs.
    Stop with Ctrl-C or SIGTERM; a restart continues where it stopped.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    settings = load_settings(context.obj["config_file"])
    bootstrap = resolve_bootstrap(settings, state_dir)
    config = WatcherConfig(
        bootstrap=bootstrap,
        checkpoint=checkpoint,
        cluster=cluster,
        kubeconfig=kubeconfig,
        api_version=api_version or settings.kueue_api_version,
        events_topic=f"{topic_prefix}.workload-events",
        queues_topic=f"{topic_prefix}.clusterqueue-events",
        dead_letter_topic=f"{topic_prefix}.dead-letter",
        max_outage_s=max_outage_s or settings.broker_max_outage_s,
    )
    ensure_topics(
        bootstrap,
        {config.events_topic: partitions, config.queues_topic: 1, config.dead_letter_topic: 1},
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    watcher = Watcher(config)
    try:
        watcher.run(stop)
    except KeyboardInterrupt:
        stop.set()
    click.echo(f"sent {watcher.sent} records, {watcher.dead_letters} dead letters", err=True)
    if watcher.failure is not None:
        raise watcher.failure
