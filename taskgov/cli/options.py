"""Options several subcommands share, declared once."""

from __future__ import annotations

from pathlib import Path

import click

# Where `taskgov broker start` records the local broker, for the commands that talk to Kafka.
state_dir_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".taskgov"),
    envvar="TASKGOV_STATE_DIR",
    show_default=True,
    help="Where `taskgov broker` records the local broker.",
)

# The DuckDB system of record that read-only commands (reports, alerts) open.
db_option = click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="TASKGOV_DUCKDB_PATH",
    help="The DuckDB file (default: the duckdb_path setting).",
)
