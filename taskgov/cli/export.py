"""``taskgov export``: the record as Parquet partitioned by cluster and day, at a path or on S3.

Run it on a schedule (cron, a Kubernetes CronJob) with ``--since`` a little before the last
run, or without it for a full copy; ``taskgov report --lake`` and ``taskgov sql --lake`` read
the result, and so can Athena, Trino or Spark.
"""

from __future__ import annotations

from pathlib import Path

import click

from taskgov.cli.options import database_path, db_option, output_option
from taskgov.cli.output import render_rows
from taskgov.store import open_read_only
from taskgov.store.lake import export_lake, lake_at
from taskgov.times import parse_instant


@click.command("export")
@click.option(
    "--to",
    "destination",
    required=True,
    help="Where the lake goes: a folder, or s3://bucket/prefix.",
)
@click.option(
    "--since",
    help="Rewrite only the partitions a change at or after this instant (ISO 8601, UTC) can "
    "reach; default: all.",
)
@click.option(
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL",
    help="The S3 API to use for s3:// (default: AWS).",
)
@db_option
@output_option()
@click.pass_context
def export_command(
    context: click.Context,
    destination: str,
    since: str | None,
    endpoint_url: str | None,
    db: Path | None,
    output: str,
) -> None:
    """Export the event log and the aggregates as hive-partitioned Parquet (cluster=, day=)."""
    since_at = parse_instant(since, "--since")
    conn = open_read_only(database_path(context, db))
    try:
        result = export_lake(conn, lake_at(destination, endpoint_url=endpoint_url), since=since_at)
    finally:
        conn.close()
    rows = [{"table": table, "rows": count} for table, count in result.rows.items()]
    click.echo(render_rows(rows, ("table", "rows"), output), nl=False)  # type: ignore[arg-type]
