"""Apply ``sql/`` to a DuckDB database: numbered schema files once, views and macros every time.

1. ``sql/schema/NNN_*.sql`` run in order, each once, in its own transaction; the version, name
   and checksum are recorded in ``schema_migrations``. An applied file that has since changed
   is an error: schema changes go in a new file.
2. ``sql/views/*.sql`` (views and macros, all ``CREATE OR REPLACE``) are re-created in
   dependency order on every call, so they always match the code.
3. When a schema file changed how aggregates are derived, it leaves a ``rebuild_requested`` row
   in ``aggregate_state``; the aggregates are then rebuilt from the event log, once.

Calling :func:`migrate` again changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from taskgov.errors import TaskgovError

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    checksum VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL
)
"""
_SCHEMA_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_DEFINES = re.compile(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:VIEW|MACRO|FUNCTION)\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.IGNORECASE,
)
_LINE_COMMENT = re.compile(r"--[^\n]*")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema file.

    Attributes:
        version: the file's number (``001`` is 1).
        name: the rest of the file name, without ``.sql``.
        sql: the file's text.
        checksum: sha256 of the text, recorded when applied.
    """

    version: int
    name: str
    sql: str
    checksum: str


@dataclass(frozen=True, slots=True)
class DerivedFile:
    """One file of views or macros and the names it defines and uses."""

    path: Path
    sql: str
    defines: frozenset[str]


@dataclass
class MigrationError(TaskgovError):
    """The database's schema and ``sql/`` disagree. Exit code 1.

    Attributes:
        file: the ``sql/`` file at fault.
        problem: what is wrong, in one sentence.
    """

    file: str
    problem: str

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.file}: {self.problem}"


def schema_migrations(sql_dir: Path = SQL_DIR) -> list[Migration]:
    """The numbered schema files, in version order.

    Raises:
        MigrationError: a file is misnamed or two files share a version.
    """
    migrations: dict[int, Migration] = {}
    for path in sorted((sql_dir / "schema").glob("*.sql")):
        match = _SCHEMA_FILE.match(path.name)
        if match is None:
            raise MigrationError(str(path), "schema files are named NNN_snake_case.sql")
        version = int(match.group(1))
        if version in migrations:
            raise MigrationError(str(path), f"version {version} is used twice")
        text = path.read_text()
        checksum = hashlib.sha256(text.encode()).hexdigest()
        migrations[version] = Migration(version, match.group(2), text, checksum)
    return [migrations[v] for v in sorted(migrations)]


def derived_files(sql_dir: Path = SQL_DIR) -> list[DerivedFile]:
    """The view and macro files, ordered so each comes after every file it uses.

    Raises:
        MigrationError: the files use each other in a cycle.
    """
    files = []
    for path in sorted((sql_dir / "views").glob("*.sql")):
        text = path.read_text()
        files.append(DerivedFile(path, text, frozenset(_DEFINES.findall(text))))
    owner = {name: f for f in files for name in f.defines}
    uses = {
        f.path: {
            owner[word].path
            for word in set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", _LINE_COMMENT.sub("", f.sql)))
            if word in owner and owner[word] is not f
        }
        for f in files
    }
    ordered: list[DerivedFile] = []
    done: set[Path] = set()
    remaining = list(files)
    while remaining:
        ready = [f for f in remaining if uses[f.path] <= done]
        if not ready:
            names = ", ".join(f.path.name for f in remaining)
            raise MigrationError(names, "these files use each other in a cycle")
        for f in ready:
            ordered.append(f)
            done.add(f.path)
        remaining = [f for f in remaining if f.path not in done]
    return ordered


def applied_versions(conn: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """Version → checksum of every schema file applied to ``conn`` (empty if none)."""
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    return {int(version): str(checksum) for version, checksum in rows}


def pending_versions(conn: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR) -> list[int]:
    """Versions of schema files not yet applied to ``conn``."""
    applied = applied_versions(conn)
    return [m.version for m in schema_migrations(sql_dir) if m.version not in applied]


def migrate(conn: duckdb.DuckDBPyConnection, *, sql_dir: Path = SQL_DIR) -> list[int]:
    """Bring ``conn`` up to ``sql_dir``: pending schema files, then every view and macro.

    Args:
        conn: a writable connection, not inside a transaction.
        sql_dir: the ``sql/`` folder (the repository's by default).

    Returns:
        The versions applied by this call, in order (empty when already current).

    Raises:
        MigrationError: an applied schema file changed, or the files are malformed.
        duckdb.Error: a file failed to run; its transaction is rolled back.
    """
    conn.execute(_BOOKKEEPING)
    applied = applied_versions(conn)
    done: list[int] = []
    for migration in schema_migrations(sql_dir):
        recorded = applied.get(migration.version)
        if recorded is not None:
            if recorded != migration.checksum:
                raise MigrationError(
                    f"schema/{migration.version:03d}_{migration.name}.sql",
                    "changed after it was applied; put schema changes in a new file",
                )
            continue
        _in_transaction(
            conn,
            [migration.sql],
            (
                "INSERT INTO schema_migrations VALUES ($version, $name, $checksum, $at)",
                {
                    "version": migration.version,
                    "name": migration.name,
                    "checksum": migration.checksum,
                    "at": datetime.now(UTC).replace(tzinfo=None),
                },
            ),
        )
        done.append(migration.version)
    _in_transaction(conn, [f.sql for f in derived_files(sql_dir)], None)
    _rebuild_if_requested(conn)
    return done


def _rebuild_if_requested(conn: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the aggregates when a schema file asked for it (its rule for them changed)."""
    requested = conn.execute(
        "SELECT count(*) FROM aggregate_state WHERE name = 'rebuild_requested'"
    ).fetchone()
    if not requested or not requested[0]:
        return
    from streams.sink_duckdb import rebuild_aggregates  # the sink imports this module

    conn.execute("BEGIN TRANSACTION")
    try:
        rebuild_aggregates(conn)
        conn.execute("DELETE FROM aggregate_state WHERE name = 'rebuild_requested'")
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise


def _in_transaction(
    conn: duckdb.DuckDBPyConnection,
    scripts: list[str],
    record: tuple[str, dict[str, object]] | None,
) -> None:
    conn.execute("BEGIN TRANSACTION")
    try:
        for script in scripts:
            conn.execute(script)
        if record is not None:
            conn.execute(*record)
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
