"""``taskgov report`` and ``taskgov sql``: read the DuckDB system of record, never write it.

Reports are the files in ``sql/reports``: a header of ``--`` lines (the first says what the
report answers, then its ``$since``, ``$until``, ``$team`` parameters, all nullable) and one
SELECT. The database is opened read-only; only the worker's sink writes it.

Parquet is binary, so ``-o parquet`` writes only to ``--out FILE``, never to the terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import duckdb
import polars as pl

from streams.migrations import SQL_DIR, pending_versions
from taskgov.cli.options import db_option, output_option, time_bound_options
from taskgov.cli.output import render_rows
from taskgov.cli.times import parse_instant as parse_instant  # re-exported for serve, why
from taskgov.cli.times import parse_time_bound
from taskgov.errors import DatabaseError, Fault, InputError
from taskgov.settings import load_settings
from taskgov.store.read_only_query import QueryLimits, bounded, check_select_only

REPORTS_DIR = SQL_DIR / "reports"
_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")
_LINE_COMMENT = re.compile(r"--[^\n]*")
_ORDER = {"since": 0, "until": 1, "team": 2}
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


@dataclass(frozen=True, slots=True)
class Report:
    """One file of ``sql/reports``.

    Attributes:
        name: the file name without ``.sql``.
        description: the header's first line: what the report answers.
        parameters: the ``$name`` parameters its SQL uses (since, until, team first).
        sql: the file's text.
    """

    name: str
    description: str
    parameters: tuple[str, ...]
    sql: str


@dataclass(frozen=True, slots=True)
class Result:
    """Rows of a query with their column names and DuckDB type names."""

    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def load_reports(reports_dir: Path = REPORTS_DIR) -> dict[str, Report]:
    """Every report in ``reports_dir``, by name."""
    reports = {}
    for path in sorted(reports_dir.glob("*.sql")):
        text = path.read_text()
        header = []
        for line in text.splitlines():
            if not line.startswith("--"):
                break
            header.append(line[2:].strip())
        code = _LINE_COMMENT.sub("", text)
        used = set(_PARAMETER.findall(code))
        parameters = tuple(sorted(used, key=lambda p: (_ORDER.get(p, len(_ORDER)), p)))
        reports[path.stem] = Report(path.stem, header[0] if header else "", parameters, text)
    return reports


def run_report(
    conn: duckdb.DuckDBPyConnection,
    report: Report,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    team: str | None = None,
) -> Result:
    """Run ``report`` on ``conn`` with the parameters it uses (None: no bound).

    Raises:
        duckdb.Error: the query failed.
    """
    given: dict[str, object] = {"since": since, "until": until, "team": team}
    unknown = [name for name in report.parameters if name not in given]
    if unknown:
        raise InputError(
            [Fault(f"sql/reports/{report.name}.sql", "", "", f"unknown parameter ${unknown[0]}")]
        )
    cursor = conn.execute(report.sql, {name: given[name] for name in report.parameters})
    return _result(cursor)


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a migrated database, with file access turned off.

    Raises:
        InputError: there is no database at ``path``.
        DatabaseError: it is locked by a writer, or its schema is behind this taskgov.
    """
    if not path.is_file():
        raise InputError([Fault("--db", str(path), "", "no such database")])
    try:
        conn = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise DatabaseError(str(path), f"cannot open read-only: {error}") from None
    conn.execute("SET enable_external_access = false")
    behind = pending_versions(conn)
    if behind:
        conn.close()
        raise DatabaseError(
            str(path), f"schema versions {behind} are not applied; start the worker to migrate"
        )
    return conn


# The end of the record: the instant the worker built the aggregates to (the store layer's
# ``watermark`` once report loading moves there).
_RECORD_END = "SELECT instant FROM aggregate_state WHERE name = 'watermark'"


def record_end(conn: duckdb.DuckDBPyConnection) -> datetime | None:
    """Where durations in ``--since``/``--until`` count back from (None: nothing stored)."""
    row = conn.execute(_RECORD_END).fetchone()
    return row[0] if row else None


def _result(cursor: duckdb.DuckDBPyConnection) -> Result:
    description = cursor.description or []
    return Result(
        tuple(str(d[0]) for d in description),
        tuple(str(d[1]) for d in description),
        cursor.fetchall(),
    )


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


def _database(context: click.Context, db: Path | None) -> Path:
    if db is not None:
        return db
    config_file = (context.find_root().obj or {}).get("config_file")
    return load_settings(config_file).duckdb_path


def _output_options(command: Any) -> Any:
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
) -> None:
    """Run the report NAME (see --list) on the DuckDB system of record."""
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
    path = _database(context, db)
    conn = open_read_only(path)
    try:
        since_at, until_at = (
            None if b is None else b.resolve(lambda: record_end(conn)) for b in bounds
        )
        result = run_report(conn, reports[name], since=since_at, until=until_at, team=team)
    except duckdb.Error as error:
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
    memory_limit: str | None,
    timeout_s: float | None,
) -> None:
    """Run one read-only SELECT on the DuckDB system of record (views: see sql/views)."""
    settings = load_settings((context.find_root().obj or {}).get("config_file"))
    limits = QueryLimits(
        settings.sql_memory_limit if memory_limit is None else memory_limit,
        settings.sql_timeout_s if timeout_s is None else timeout_s,
    )
    check_select_only(query)
    conn = open_read_only(_database(context, db))
    try:
        with bounded(conn, limits):
            result = _result(conn.execute(query))
    finally:
        conn.close()
    _write(result, output, out)
