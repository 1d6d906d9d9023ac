"""The ``taskgov`` command: one entry point, a subcommand per job.

Exit codes: 0 ok, 1 runtime failure, 2 bad input or usage, 3 infeasible.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import click

from taskgov.errors import InputError, TaskgovError

# Subcommand -> "module:attribute", imported only when used: the optimizer, Faust and the
# twin each take a second or more to import, and `taskgov worker` needs none of the others.
SUBCOMMANDS = {
    "policy": "taskgov.cli.policy:policy_group",
    "catalog": "taskgov.cli.policy:catalog_command",
    "demo": "taskgov.cli.demo:demo_command",
    "twin": "taskgov.cli.twin:twin_group",
    "broker": "taskgov.cli.broker:broker_group",
    "watch": "taskgov.cli.watch:watch_command",
    "worker": "taskgov.cli.worker:worker_command",
    "report": "taskgov.cli.report:report_command",
    "sql": "taskgov.cli.report:sql_command",
    "recommend": "taskgov.cli.recommend:recommend_command",
    "alerts": "taskgov.cli.alerts:alerts_command",
    "serve": "taskgov.cli.serve:serve_command",
    "apply": "taskgov.cli.apply:apply_command",
    "rollback": "taskgov.cli.apply:rollback_command",
    "why": "taskgov.cli.why:why_command",
    "export": "taskgov.cli.export:export_command",
    "audit": "taskgov.cli.audit:audit_command",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported when first used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = SUBCOMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "TASKGOV"},
)
@click.version_option(package_name="taskgov", prog_name="taskgov", message="%(prog)s %(version)s")
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


def main() -> None:
    """Run the CLI, turning our errors into a message and an exit code, never a traceback."""
    try:
        # Without standalone mode click returns (not raises) the code of a
        # ``click.exceptions.Exit``, and a command's return value otherwise (always None here).
        returned = cli.main(prog_name="taskgov", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        # UsageError and BadParameter carry 2; a file click cannot open (FileError) carries 1.
        sys.exit(error.exit_code)
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
    sys.exit(returned if isinstance(returned, int) else 0)
