"""Where the ``sql/`` files are, and their text split into statements.

The files live in the repository's top-level ``sql/`` folder; a built wheel carries the same
files (see ``pyproject.toml``), so an installed taskgov finds them without a checkout.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import duckdb

_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")
_LINE_COMMENT = re.compile(r"--[^\n]*")


def _sql_dir() -> Path:
    """The repository's ``sql/`` beside the packages, else the copy installed with the wheel."""
    checkout = Path(__file__).resolve().parents[2] / "sql"
    if (checkout / "schema").is_dir():
        return checkout
    spec = find_spec("taskgov_sql")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return checkout


SQL_DIR = _sql_dir()


@cache
def sql_text(name: str, sql_dir: Path = SQL_DIR) -> str:
    """The text of ``sql_dir/name`` (e.g. ``sink/stage_workload_events.sql``), read once."""
    return (sql_dir / name).read_text()


@cache
def statements(name: str, sql_dir: Path = SQL_DIR) -> tuple[tuple[str, frozenset[str]], ...]:
    """The statements of ``sql_dir/name``, in order, each with the ``$name`` parameters it uses
    (its comments aside)."""
    return tuple(
        (s.query, frozenset(_PARAMETER.findall(_LINE_COMMENT.sub("", s.query))))
        for s in duckdb.extract_statements(sql_text(name, sql_dir))
    )


def run_script(conn: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, object]) -> None:
    """Run every statement of ``sql/name``, each with the parameters it names.

    Raises:
        duckdb.Error: a statement failed (the caller's transaction decides what is kept).
    """
    for statement, used in statements(name):
        conn.execute(statement, {k: v for k, v in params.items() if k in used})
