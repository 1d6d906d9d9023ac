"""The reports of ``sql/reports`` and read-only queries on the system of record.

A report is a file with a header of ``--`` lines (the first says what the report answers, then
its ``$since``, ``$until``, ``$team`` parameters, all nullable) and one SELECT. Readers open
the database read-only (:func:`open_read_only`), so the worker stays its only writer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from taskgov.errors import DatabaseError, Fault, InputError
from taskgov.store.connect import LOCK_WAIT_S, Connection, connect_read_only
from taskgov.store.files import SQL_DIR
from taskgov.store.migrations import Owner, pending_versions

REPORTS_DIR = SQL_DIR / "reports"
_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")
_LINE_COMMENT = re.compile(r"--[^\n]*")
_ORDER = {"since": 0, "until": 1, "team": 2}


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
    conn: Connection,
    report: Report,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    team: str | None = None,
) -> Result:
    """Run ``report`` on ``conn`` with the parameters it uses (None: no bound).

    Raises:
        InputError: the report uses a parameter other than since, until and team.
        QueryError: the query failed.
    """
    given: dict[str, object] = {"since": since, "until": until, "team": team}
    unknown = [name for name in report.parameters if name not in given]
    if unknown:
        raise InputError(
            [Fault(f"sql/reports/{report.name}.sql", "", "", f"unknown parameter ${unknown[0]}")]
        )
    return _result(conn.execute(report.sql, {name: given[name] for name in report.parameters}))


def run_select(conn: Connection, query: str) -> Result:
    """Run one SELECT (``read_only_query.check_select_only`` proves it reads only).

    Raises:
        QueryError: the query failed.
    """
    return _result(conn.execute(query))


def open_read_only(path: Path, *, lock_wait_s: float = LOCK_WAIT_S) -> Connection:
    """A read-only connection to a database the worker has migrated, with file access off.

    Raises:
        InputError: there is no database at ``path``.
        DatabaseError: a writer kept it locked for ``lock_wait_s``, or its schema is behind
            this taskgov.
    """
    conn = connect_read_only(path, lock_wait_s=lock_wait_s, external_access=False)
    behind = pending_versions(conn, owner=Owner.WORKER)
    if behind:
        conn.close()
        raise DatabaseError(
            str(path), f"schema versions {behind} are not applied; start the worker to migrate"
        )
    return conn


def _result(cursor: Connection) -> Result:
    description = cursor.description or []
    return Result(
        tuple(str(d[0]) for d in description),
        tuple(str(d[1]) for d in description),
        cursor.fetchall(),
    )
