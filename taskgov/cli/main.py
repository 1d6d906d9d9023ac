"""The ``taskgov`` command: one entry point, a subcommand per job.

Exit codes: 0 ok, 1 runtime failure, 2 bad input or usage, 3 infeasible.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from taskgov.cli.alerts import alerts_command
from taskgov.cli.broker import broker_group
from taskgov.cli.demo import demo_command
from taskgov.cli.policy import catalog_command, policy_group
from taskgov.cli.recommend import recommend_command
from taskgov.cli.report import report_command, sql_command
from taskgov.cli.twin import twin_group
from taskgov.cli.watch import watch_command
from taskgov.cli.worker import worker_command
from taskgov.errors import InputError, TaskgovError


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "TASKGOV"}
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="TASKGOV_CONFIG",
    help="YAML settings file; TASKGOV_* variables override it.",
)
@click.pass_context
def cli(context: click.Context, config_file: Path | None) -> None:
    """Analytics and quota recommendations for Kueue / SageMaker HyperPod task governance.

    \b
    Start with:
      taskgov demo                         the seed's example, end to end
      taskgov report --list                what the DuckDB record can tell you
      taskgov alerts --every 1m            starvation alerts into Kafka
      taskgov policy compile policy.yaml   a HyperPod policy as Kueue objects
      taskgov catalog                      instance types and what one instance brings
    """
    context.obj = {"config_file": config_file}


cli.add_command(policy_group)
cli.add_command(catalog_command)
cli.add_command(demo_command)
cli.add_command(twin_group)
cli.add_command(broker_group)
cli.add_command(watch_command)
cli.add_command(worker_command)
cli.add_command(report_command)
cli.add_command(sql_command)
cli.add_command(recommend_command)
cli.add_command(alerts_command)


def main() -> None:
    """Run the CLI, turning our errors into a message and an exit code, never a traceback."""
    try:
        cli.main(prog_name="taskgov", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except InputError as error:
        for fault in error.faults:
            click.echo(f"error: {fault}", err=True)
        sys.exit(error.exit_code)
    except TaskgovError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(error.exit_code)
    except Exception as error:  # noqa: BLE001 - the last line of defence: a message, not a trace
        if os.environ.get("TASKGOV_DEBUG"):
            raise
        click.echo(
            f"error: {type(error).__name__}: {error} (TASKGOV_DEBUG=1 shows where)", err=True
        )
        sys.exit(1)
