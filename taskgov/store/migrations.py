"""Apply ``sql/`` to a DuckDB database: numbered schema files once, views and macros every time.

1. ``sql/schema/NNN_*.sql`` run in order, each once, in its own transaction; the version, name
   and checksum are recorded in ``schema_migrations``. An applied file that has since changed
   is an error: schema changes go in a new file.
2. ``sql/views/*.sql`` (views and macros, all ``CREATE OR REPLACE``) are re-created in
   dependency order on every call, so they always match the code.
3. When a schema file changed how aggregates are derived, it leaves a ``rebuild_requested`` row
   in ``aggregate_state``; the aggregates are then rebuilt from the event log, once.

Each schema file has an owner, named by a ``-- owner: NAME`` line (``worker`` without one). The
worker owns the system of record: it applies every file, the views, and rebuilds aggregates.
The optimizer (recommendation runs, apply records) applies only its own files, so a
``taskgov recommend`` never rebuilds the worker's aggregates. The owner line is left out of the
checksum, so it can be added to a file already applied.

Calling :func:`migrate` again changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from taskgov.errors import TaskgovError
from taskgov.store.aggregates import rebuild_aggregates, rebuild_report_summaries
from taskgov.store.connect import Connection, transaction
from taskgov.store.files import SQL_DIR


class Owner(StrEnum):
    """Who applies a schema file (see the module docstring)."""

    WORKER = "worker"
    OPTIMIZER = "optimizer"


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
_OWNER_LINE = re.compile(r"^--\s*owner:\s*([a-z]+)\s*\n", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema file.

    Attributes:
        version: the file's number (``001`` is 1).
        name: the rest of the file name, without ``.sql``.
        sql: the file's text.
        checksum: sha256 of the text without its owner line, recorded when applied.
        owner: who applies it.
    """

    version: int
    name: str
    sql: str
    checksum: str
    owner: Owner


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
        owners = _OWNER_LINE.findall(text)
        if any(o not in Owner.__members__.values() for o in owners) or len(owners) > 1:
            raise MigrationError(str(path), f"owner must be one of {', '.join(Owner)}")
        checksum = hashlib.sha256(_OWNER_LINE.sub("", text).encode()).hexdigest()
        owner = Owner(owners[0]) if owners else Owner.WORKER
        migrations[version] = Migration(version, match.group(2), text, checksum, owner)
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


def applied_versions(conn: Connection) -> dict[int, str]:
    """Version → checksum of every schema file applied to ``conn`` (empty if none)."""
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    return {int(version): str(checksum) for version, checksum in rows}


def pending_versions(
    conn: Connection, sql_dir: Path = SQL_DIR, *, owner: Owner | None = None
) -> list[int]:
    """Versions of schema files not yet applied to ``conn`` (only ``owner``'s, if given)."""
    applied = applied_versions(conn)
    return [
        m.version
        for m in schema_migrations(sql_dir)
        if m.version not in applied and owner in (None, m.owner)
    ]


def migrate(conn: Connection, *, owner: Owner = Owner.WORKER, sql_dir: Path = SQL_DIR) -> list[int]:
    """Bring ``conn`` up to ``sql_dir``: pending schema files, then every view and macro.

    Args:
        conn: a writable connection, not inside a transaction.
        owner: the worker applies every file, the views, and rebuilds aggregates on request;
            the optimizer applies only its own files.
        sql_dir: the ``sql/`` folder (the repository's by default).

    Returns:
        The versions applied by this call, in order (empty when already current).

    Raises:
        MigrationError: an applied schema file changed, or the files are malformed.
        QueryError: a file failed to run; its transaction is rolled back.
    """
    conn.execute(_BOOKKEEPING)
    applied = applied_versions(conn)
    done: list[int] = []
    for migration in schema_migrations(sql_dir):
        if owner is not Owner.WORKER and migration.owner is not owner:
            continue
        recorded = applied.get(migration.version)
        if recorded is not None:
            if recorded != migration.checksum:
                raise MigrationError(
                    f"schema/{migration.version:03d}_{migration.name}.sql",
                    "changed after it was applied; put schema changes in a new file",
                )
            continue
        with transaction(conn):
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations VALUES ($version, $name, $checksum, $at)",
                {
                    "version": migration.version,
                    "name": migration.name,
                    "checksum": migration.checksum,
                    "at": datetime.now(UTC).replace(tzinfo=None),
                },
            )
        done.append(migration.version)
    if owner is Owner.WORKER:
        with transaction(conn):
            for derived in derived_files(sql_dir):
                conn.execute(derived.sql)
        _rebuild_if_requested(conn)
    return done


def _rebuild_if_requested(conn: Connection) -> None:
    """Rebuild the aggregates when a schema file asked for it (its rule for them changed)."""
    requested = conn.execute(
        "SELECT count(*) FROM aggregate_state WHERE name = 'rebuild_requested'"
    ).fetchone()
    if requested and requested[0]:
        with transaction(conn):
            rebuild_aggregates(conn)  # the report summaries too
            conn.execute(
                "DELETE FROM aggregate_state "
                "WHERE name IN ('rebuild_requested', 'report_summaries_requested')"
            )
    # Only the report summaries are new (schema 009): build them alone, not every aggregate.
    summaries = conn.execute(
        "SELECT count(*) FROM aggregate_state WHERE name = 'report_summaries_requested'"
    ).fetchone()
    if summaries and summaries[0]:
        with transaction(conn):
            rebuild_report_summaries(conn)
            conn.execute("DELETE FROM aggregate_state WHERE name = 'report_summaries_requested'")
