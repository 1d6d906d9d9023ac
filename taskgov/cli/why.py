"""``taskgov why NAMESPACE/WORKLOAD``: why a Workload waits, from the DuckDB record."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
import yaml

from taskgov.cli.options import db_option, output_option
from taskgov.cli.output import dump_json, render_rows
from taskgov.errors import Fault, InputError
from taskgov.serve.records import reading
from taskgov.serve.why import explain
from taskgov.settings import load_settings
from taskgov.times import parse_instant
from taskgov.twin.durations import parse_duration_ms


@click.command("why")
@click.argument("workload")
@db_option
@click.option("--at", "at_text", help="The instant to explain, ISO 8601 UTC (default: latest).")
@click.option(
    "--assume-runtime",
    default="1h",
    show_default=True,
    help="How long each workload runs once admitted, for the estimated start.",
)
@output_option(default="wide")  # the explanations are the point: whole by default
@click.pass_context
def why_command(
    context: click.Context,
    workload: str,
    db: Path | None,
    at_text: str | None,
    assume_runtime: str,
    output: str,
) -> None:
    """Why NAMESPACE/WORKLOAD waits: Kueue's reason in plain words, its position in its
    ClusterQueue, what blocks it, what would free it, and an estimated start (a twin run
    forward from the recorded state, with its assumptions).

    \b
    Examples:
      taskgov why hyperpod-ns-team-a/pytorchjob-imagenet-gpu-team-a-1-3217d
      taskgov why hyperpod-ns-team-a/train-7 --at 2025-01-01T00:07 -o json
    """
    try:
        runtime = timedelta(milliseconds=parse_duration_ms(assume_runtime))
    except ValueError as error:
        raise InputError([Fault("--assume-runtime", assume_runtime, "", str(error))]) from None
    settings = load_settings(context.find_root().obj["config_file"])
    with reading(db or settings.duckdb_path) as conn:
        answer = explain(conn, workload, at=parse_instant(at_text, "--at"), runtime=runtime)
    if output == "json":
        click.echo(dump_json(answer.model_dump(mode="json")), nl=False)
    elif output == "yaml":
        click.echo(yaml.safe_dump(answer.model_dump(mode="json"), sort_keys=False), nl=False)
    else:
        rows = [line.model_dump() for line in answer.lines]
        click.echo(render_rows(rows, ["topic", "text"], output), nl=False)  # type: ignore[arg-type]
