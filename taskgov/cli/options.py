"""Options several subcommands share, each declared once.

Every command that prints data takes ``-o`` from here, so the formats are the same
everywhere: ``table`` for people, ``json``, ``yaml`` and ``csv`` for programs, ``wide`` where
the table shortens long text. Binary formats (Parquet) need a file (``--out``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from taskgov.errors import Fault, InputError
from taskgov.settings import load_settings
from taskgov.twin.durations import parse_duration_ms

F = TypeVar("F", bound=Callable[..., Any])

DATA_FORMATS = ("table", "json", "yaml", "csv")

# Where `taskgov broker start` records the local broker, the demo keeps its record and the
# watcher its checkpoint.
DEFAULT_STATE_DIR = Path(".taskgov")

state_dir_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_STATE_DIR,
    envvar="TASKGOV_STATE_DIR",
    show_envvar=True,
    show_default=True,
    help="Where the local broker's record and log, and the demo's record, live.",
)

# The DuckDB system of record that read-only commands (reports, alerts) open.
db_option = click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="TASKGOV_DUCKDB_PATH",
    help="The DuckDB file (default: the duckdb_path setting).",
)


def database_path(context: click.Context, db: Path | None) -> Path:
    """``--db``, else the ``duckdb_path`` setting of the root command's ``--config``: the
    settings file is read only when no file was named."""
    if db is not None:
        return db
    config_file = (context.find_root().obj or {}).get("config_file")
    return load_settings(config_file).duckdb_path


# The topics a deployment uses: PREFIX.workload-events, PREFIX.alerts and so on.
topic_prefix_option = click.option(
    "--topic-prefix",
    default="taskgov",
    show_default=True,
    help="Topics are PREFIX.workload-events, PREFIX.clusterqueue-events, PREFIX.dead-letter "
    "and PREFIX.alerts.",
)

# The Kueue API version read (watch) or written (policy compile).
kueue_api_version_option = click.option(
    "--api-version",
    type=click.Choice(["v1beta1", "v1beta2"]),
    help="Kueue API version [settings: kueue_api_version, default v1beta2; v1beta1 for a "
    "Kueue that does not serve v1beta2].",
)


def output_option(
    *, wide: bool = True, binary: tuple[str, ...] = (), default: str = "table"
) -> Callable[[F], F]:
    """``-o/--output``: the data formats, ``wide`` (the table with no text cut, see
    :mod:`taskgov.cli.output`) and the ``binary`` formats a command writes to ``--out``."""
    choices = [*DATA_FORMATS, *(("wide",) if wide else ()), *binary]
    help_text = "table for people; json, yaml or csv for programs"
    if wide:
        help_text += "; wide: the table without shortened text"
    if binary:
        help_text += f"; {', '.join(binary)} with --out FILE"
    return click.option(
        "-o",
        "--output",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help=help_text + ".",
    )


def time_bound_options(command: F) -> F:
    """``--since`` and ``--until``: a duration back from the end of the record or an ISO time."""
    for name, side in (("--until", "End (exclusive)"), ("--since", "Start (inclusive)")):
        command = click.option(
            name,
            help=f"{side}: a duration back from the end of the record (720h, 90m) or an "
            "ISO 8601 date or time, UTC (2024-05-01, 2024-05-01T12:00Z).",
        )(command)
    return command


def seconds_option(
    flag: str, *, minimum: float, help: str, default: float | None = None
) -> Callable[[F], F]:
    """A span in seconds: ``--grace`` reaches the command as ``grace_s``, so the unit is in the
    name wherever the value travels, and every such flag checks its lower bound the same way."""
    return click.option(
        flag,
        f"{flag.removeprefix('--').replace('-', '_')}_s",
        type=click.FloatRange(min=minimum),
        default=default,
        show_default=default is not None,
        help=help,
    )


def max_outage_option(waiting: str) -> Callable[[F], F]:
    """``--max-outage`` of the long-running Kafka clients (watcher, worker): how long
    ``waiting`` may go on before the command exits 1; unset, the ``broker_max_outage_s``
    setting decides."""
    return seconds_option(
        "--max-outage",
        minimum=1.0,
        help=f"Seconds {waiting} exits 1 [settings: broker_max_outage_s, 300].",
    )


def duration_option(
    flag: str, *, help: str, default: str | None = None, envvar: str | None = None
) -> Callable[[F], F]:
    """A span such as ``90m`` or ``1h30m``, handed to the command as a ``timedelta`` (None
    when not given), so no command parses durations itself. Text that is no duration is bad
    input naming the flag (exit 2), found before the command opens anything."""
    return click.option(
        flag,
        default=default,
        show_default=default is not None,
        envvar=envvar,
        callback=_timedelta,
        help=help,
    )


def _timedelta(
    context: click.Context, parameter: click.Parameter, text: str | None
) -> timedelta | None:
    """The callback of :func:`duration_option`. An empty text counts as not given where not
    giving the flag means something (``TASKGOV_ALERT_EVERY=`` turns alerts off); where the
    flag has a default, a duration is wanted."""
    if text is None or (not text and parameter.default is None):
        return None
    try:
        return timedelta(milliseconds=parse_duration_ms(text))
    except ValueError as error:
        raise InputError([Fault(parameter.opts[-1], text, "", str(error))]) from None
