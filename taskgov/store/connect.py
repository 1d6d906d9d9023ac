"""Opening the DuckDB file: the one place taskgov connects to it.

DuckDB lets one process write a file, or several read it, never both at once. The worker's sink
opens the file for each flush and closes it after, so a reader (``taskgov report``, ``sql``,
``alerts``, ``recommend``) that finds it locked waits a bounded time and tries again, then says
what held it up instead of failing on the first lock error.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeAlias

import duckdb

from taskgov.errors import DatabaseError, Fault, InputError

Connection: TypeAlias = duckdb.DuckDBPyConnection
# What a failed statement raises; callers that must keep going catch it as the store's error.
QueryError: TypeAlias = duckdb.Error
# How long to wait for another process (the worker's sink flushing) to let go of the file.
LOCK_WAIT_S = 10.0
_RETRY_S = 0.1


def is_database_fault(error: QueryError) -> bool:
    """True when a statement failed because of the database (the disk, a lock, a conflict
    between transactions), not because of what it was asked to store."""
    return isinstance(error, duckdb.OperationalError)


def connect_memory() -> Connection:
    """A fresh in-memory database (tests, benches, one-off scratch work)."""
    return duckdb.connect(":memory:")


def connect_read_write(path: Path | str, *, lock_wait_s: float = LOCK_WAIT_S) -> Connection:
    """A writable connection to ``path`` (created if missing; ``":memory:"`` for none).

    Raises:
        DatabaseError: the file is no DuckDB database, or another process kept it locked for
            ``lock_wait_s``.
    """
    return _connect(Path(path), read_only=False, lock_wait_s=lock_wait_s)


def connect_read_only(
    path: Path | str,
    *,
    lock_wait_s: float = LOCK_WAIT_S,
    require_tables: Iterable[str] = (),
    external_access: bool = True,
) -> Connection:
    """A read-only connection to the existing database at ``path``.

    Args:
        path: the DuckDB file.
        lock_wait_s: how long to keep trying while a writer holds the file.
        require_tables: tables the caller reads; a file without them is refused, naming them.
        external_access: False turns off reading other files from SQL (for user queries).

    Raises:
        InputError: there is no file at ``path``, or it lacks a required table.
        DatabaseError: it is no DuckDB database, or a writer kept it locked for
            ``lock_wait_s``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError([Fault("--db", str(path), "", "no such database")])
    conn = _connect(path, read_only=True, lock_wait_s=lock_wait_s)
    if not external_access:
        conn.execute("SET enable_external_access = false")
    found = set(table_names(conn))
    missing = [table for table in require_tables if table not in found]
    if missing:
        conn.close()
        message = (
            f"not a taskgov database: it lacks {', '.join(missing)} "
            "(the worker creates them: taskgov worker)"
        )
        raise InputError([Fault("--db", str(path), "", message)])
    return conn


def table_names(conn: Connection) -> list[str]:
    """The tables of the database (its main schema and the connection's temporary ones)."""
    rows = conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return [str(row[0]) for row in rows]


def database_path(conn: Connection) -> str:
    """The file ``conn`` is connected to, or ``":memory:"``."""
    row = conn.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return str(row[0]) if row and row[0] else ":memory:"


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """Run the block in one transaction: committed at the end, rolled back on any error."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # a failed COMMIT has rolled back already
            conn.execute("ROLLBACK")
        raise


def _connect(path: Path, *, read_only: bool, lock_wait_s: float) -> Connection:
    deadline = time.monotonic() + lock_wait_s
    started = time.monotonic()
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            first = str(error).splitlines()[0]
            if "lock" not in first.lower():
                raise _unopenable(path, read_only, first) from None
            if time.monotonic() >= deadline:
                waited = time.monotonic() - started
                problem = (
                    f"locked by another process: {first} (waited {waited:.1f} s; the worker "
                    "holds the file while it writes a batch: try again, or stop the writer)"
                )
                raise DatabaseError(str(path), problem) from None
            time.sleep(_RETRY_S)
        except duckdb.ConnectionException as error:
            # This process holds the file already, opened another way (e.g. a sink writing).
            first = str(error).splitlines()[0]
            raise DatabaseError(str(path), f"held by this process: {first}") from None
        except duckdb.Error as error:
            raise _unopenable(path, read_only, str(error).splitlines()[0]) from None


def _unopenable(path: Path, read_only: bool, first: str) -> DatabaseError:
    """The file is there but DuckDB cannot open it (not a database, a newer format, ...)."""
    return DatabaseError(str(path), f"cannot open{' read-only' if read_only else ''}: {first}")
