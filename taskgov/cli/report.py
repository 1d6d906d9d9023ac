"""``taskgov report`` and ``taskgov sql``: read the DuckDB system of record, never write it.

Reports are the files in ``sql/reports``: a header of ``--`` lines (the first says what the
report answers, then its ``$since``, ``$until``, ``$team`` parameters, all nullable) and one
SELECT. The database is opened read-only (``taskgov.store``); only the worker's sink writes it.

Parquet is binary, so ``-o parquet`` writes only to ``--out FILE``, never to the terminal.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import polars as pl

from taskgov.cli.options import database_path, db_option, output_option, time_bound_options
from taskgov.cli.output import render_rows
from taskgov.errors import DatabaseError, Fault, InputError
from taskgov.settings import load_settings
from taskgov.store import (
    Connection,
    QueryError,
    Result,
    load_reports,
    open_read_only,
    run_report,
    run_select,
    watermark,
)
from taskgov.store.lake import lake_at, open_lake
from taskgov.store.read_only_query import QueryLimits, bounded, check_select_only
from taskgov.times import parse_time_bound

_POLARS_TYPES: dict[str, Any] = {
    "BOOLEAN": pl.Boolean,
    "TINYINT": pl.Int8,
    "SMALLINT": pl.Int16,
    "INTEGER": pl.Int32,
    "BIGINT": pl.Int64,
    "HUGEINT": pl.Int128,
    "UTINYINT": pl.UInt8,
    "USMALLINT": pl.UInt16,
    "UINTEGER": pl.UInt32,
    "UBIGINT": pl.UInt64,
    "FLOAT": pl.Float32,
    "DOUBLE": pl.Float64,
    "VARCHAR": pl.String,
    "DATE": pl.Date,
    "TIMESTAMP": pl.Datetime("us"),
    "TIME": pl.Time,
}


def _plain(value: object) -> object:
    """A value the text formats can print: ISO times, floats for decimals."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _frame(result: Result) -> pl.DataFrame:
    """The rows as a polars frame typed from DuckDB's types (decimals as doubles, the rest of
    the types polars has no match for as text)."""
    schema = {
        column: pl.Float64 if kind.startswith("DECIMAL") else _POLARS_TYPES.get(kind, pl.String)
        for column, kind in zip(result.columns, result.types, strict=True)
    }

    def cell(column: str, value: object) -> object:
        if value is None or schema[column] not in (pl.String, pl.Float64):
            return value
        return str(value) if schema[column] is pl.String else float(value)  # type: ignore[arg-type]

    rows = [
        tuple(cell(c, v) for c, v in zip(result.columns, row, strict=True)) for row in result.rows
    ]
    return pl.DataFrame(rows, schema=schema, orient="row")


def _write(result: Result, output: str, out: Path | None) -> None:
    if output == "parquet":
        if out is None:
            message = "parquet is binary: give --out FILE"
            raise InputError([Fault("-o parquet", "", "", message)])
        _frame(result).write_parquet(out)
        return
    records = [
        {c: _plain(v) for c, v in zip(result.columns, row, strict=True)} for row in result.rows
    ]
    text = render_rows(records, result.columns, output)  # type: ignore[arg-type]
    if out is not None:
        out.write_text(text)
    else:
        click.echo(text, nl=False)


def _open(
    context: click.Context, db: Path | None, lake: str | None, endpoint_url: str | None
) -> Connection:
    """The DuckDB file read-only, or the lake when ``--lake`` is given."""
    if lake is None:
        return open_read_only(database_path(context, db))
    return open_lake(lake_at(lake, endpoint_url=endpoint_url))


def _output_options(command: Any) -> Any:
    command = click.option(
        "--lake",
        help="Read the Parquet lake here (a path or s3://bucket/prefix, see taskgov export) "
        "instead of the DuckDB file.",
    )(command)
    command = click.option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        help="The S3 API to use for an s3:// --lake (default: AWS).",
    )(command)
    command = click.option(
        "--out",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Write to this file instead of stdout (-o parquet needs it).",
    )(command)
    command = output_option(wide=True, binary=("parquet",))(command)
    return db_option(command)


@click.command("report")
@click.argument("name", required=False)
@click.option(
    "--list", "list_reports", is_flag=True, help="List the reports and what each answers."
)
@time_bound_options
@click.option("--team", help="Only this team.")
@_output_options
@click.pass_context
def report_command(
    context: click.Context,
    name: str | None,
    list_reports: bool,
    since: str | None,
    until: str | None,
    team: str | None,
    db: Path | None,
    output: str,
    out: Path | None,
    lake: str | None,
    endpoint_url: str | None,
) -> None:
    """Run the report NAME (see --list) on the DuckDB system of record (or its --lake)."""
    reports = load_reports()
    if list_reports:
        listing = Result(
            ("name", "parameters", "answers"),
            ("VARCHAR", "VARCHAR", "VARCHAR"),
            [
                (r.name, " ".join(f"--{p}" for p in r.parameters), r.description)
                for r in reports.values()
            ],
        )
        _write(listing, output, out)
        return
    available = ", ".join(reports)
    if name is None:
        raise InputError([Fault("report", "", "", f"name a report: {available}")])
    if name not in reports:
        raise InputError([Fault("report", name, "", f"unknown report; available: {available}")])
    bounds = parse_time_bound(since, "--since"), parse_time_bound(until, "--until")
    path = lake or str(database_path(context, db))
    conn = _open(context, db, lake, endpoint_url)
    try:
        since_at, until_at = (
            None if b is None else b.resolve(lambda: watermark(conn)) for b in bounds
        )
        result = run_report(conn, reports[name], since=since_at, until=until_at, team=team)
    except QueryError as error:
        raise DatabaseError(str(path), f"report {name} failed: {error}") from None
    finally:
        conn.close()
    _write(result, output, out)


@click.command("sql")
@click.argument("query")
@_output_options
@click.option(
    "--memory-limit",
    help="DuckDB's memory limit for the query, e.g. 512MB [setting: sql_memory_limit].",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=float,
    help="Seconds before the query is stopped [setting: sql_timeout_s].",
)
@click.pass_context
def sql_command(
    context: click.Context,
    query: str,
    db: Path | None,
    output: str,
    out: Path | None,
    lake: str | None,
    endpoint_url: str | None,
    memory_limit: str | None,
    timeout_s: float | None,
) -> None:
    """Run one read-only SELECT on the DuckDB system of record or its --lake (views: see
    sql/views)."""
    settings = load_settings((context.find_root().obj or {}).get("config_file"))
    limits = QueryLimits(
        settings.sql_memory_limit if memory_limit is None else memory_limit,
        settings.sql_timeout_s if timeout_s is None else timeout_s,
    )
    check_select_only(query)
    conn = _open(context, db, lake, endpoint_url)
    try:
        with bounded(conn, limits):
            result = run_select(conn, query)
    finally:
        conn.close()
    _write(result, output, out)
