"""Read the DuckDB record for the server: one short read-only connection per request.

The worker holds its write lock only while it flushes a batch (``keep_open=False``), so a
read-only open that finds the file locked is retried for a bounded time before giving up.
The queries are ``.sql`` files: the reports in ``sql/reports`` and the server's own in
``sql/serve``, run with whichever of the request's parameters each file uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from taskgov.store import SQL_DIR, Connection, Report, load_reports, open_read_only

__all__ = [
    "QUERIES",
    "REPORTS",
    "Payload",
    "Rows",
    "has_table",
    "load_reports",
    "plain",
    "reading",
    "run",
    "run_columns",
]

REPORTS = load_reports(SQL_DIR / "reports")
QUERIES = load_reports(SQL_DIR / "serve")
Payload = dict[str, Any]
# How long a read waits for the worker to release its write lock.
LOCK_WAIT_S = 5.0


@dataclass(frozen=True, slots=True)
class Rows:
    """A query's result as JSON-ready records, with the column order."""

    columns: tuple[str, ...]
    records: list[dict[str, Any]]


def plain(value: object) -> object:
    """A JSON value: ISO 8601 times (UTC, 'Z'), floats for decimals, lists kept; NaN and
    infinities (a replay metric with nothing to measure) become null, which JSON has."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


@contextmanager
def reading(path: Path, *, lock_wait_s: float = LOCK_WAIT_S) -> Iterator[Connection]:
    """A read-only connection to the record at ``path``, closed afterwards.

    Raises:
        InputError: there is no database at ``path``.
        DatabaseError: still locked by a writer after ``lock_wait_s``, or not migrated.
    """
    conn = open_read_only(path, lock_wait_s=lock_wait_s)
    try:
        yield conn
    finally:
        conn.close()


def _finite(value: object) -> object:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _identity(value: object) -> object:
    return value


def _converter(duckdb_type: str) -> Callable[[object], object]:
    """How a column's values become JSON, chosen once per column: most need nothing, and
    converting 200k cells one by one costs more than the query (the cluster page at 10M)."""
    if duckdb_type in ("VARCHAR", "BIGINT", "INTEGER", "BOOLEAN", "SMALLINT", "TINYINT"):
        return _identity
    if duckdb_type in ("DOUBLE", "FLOAT"):
        return _finite
    return plain


def run(conn: Connection, query: Report, parameters: Mapping[str, object]) -> Rows:
    """Run ``query`` with the ``parameters`` its SQL uses (missing ones are NULL)."""
    table = run_columns(conn, query, parameters)
    columns = tuple(table["columns"])
    rows = zip(*table["values"], strict=True)
    return Rows(columns, [dict(zip(columns, row, strict=True)) for row in rows])


def run_columns(conn: Connection, query: Report, parameters: Mapping[str, object]) -> Payload:
    """``query``'s result column by column: ``{"columns": [names], "values": [[column], ...]}``.

    For the large results (the cluster page's 20k rows at 10M events): the names are sent
    once rather than in every row, which makes the JSON a third the size, and a column whose
    values need no conversion is passed on as it is rather than cell by cell.
    """
    cursor = conn.execute(query.sql, {name: parameters.get(name) for name in query.parameters})
    description = cursor.description or []
    rows = cursor.fetchall()
    values: list[list[object]] = []
    for index, column in enumerate(description):
        convert = _converter(str(column[1]))
        cells = [row[index] for row in rows]
        values.append(cells if convert is _identity else [convert(v) for v in cells])
    return {"columns": [str(d[0]) for d in description], "values": values}


def has_table(conn: Connection, name: str) -> bool:
    """True when the record has table ``name`` (older records lack newer tables)."""
    found = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = $name", {"name": name}
    ).fetchone()
    return bool(found and found[0])
