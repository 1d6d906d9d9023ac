"""One query a person types (``taskgov sql``): proved read-only, then run within bounds.

The read-only connection already refuses writes, but the check comes first so the answer is
a clear "not a SELECT" rather than a DuckDB error, and so a query such as
``WITH d AS (DELETE ... RETURNING *) SELECT ...``, whose statement type is SELECT, is caught
by its parse tree (``json_serialize_sql``: every query node must be a read). The run is
bounded three ways: DuckDB's ``memory_limit`` (then the configuration is locked), the
process's data segment (DuckDB's limit does not cover one huge value such as
``repeat('x', 300000000)``, nor the rows Python holds), and a timer that interrupts the query.
"""

from __future__ import annotations

import json
import re
import resource
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb

from taskgov.errors import Fault, InputError

# Query nodes that only read; DuckDB names the others DELETE_QUERY_NODE, INSERT_QUERY_NODE...
READ_NODES = {"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"}
_MEMORY = re.compile(r"(\d{1,9}(?:\.\d{1,3})?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
# What Python, DuckDB's code and the fetched rows may take beyond DuckDB's own memory limit.
_PROCESS_HEADROOM_BYTES = 512 * 2**20
_SET_MEMORY_LIMIT = "SET memory_limit = $memory_limit"
_LOCK_CONFIGURATION = "SET lock_configuration = true"
_SERIALIZE = "SELECT json_serialize_sql($query)"


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """Bounds on one query.

    Attributes:
        memory_limit: DuckDB's ``memory_limit``, e.g. ``1GB`` or ``512MiB``.
        timeout_s: seconds before the query is interrupted.
    """

    memory_limit: str = "1GB"
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        """Refuse bounds that are no bounds, before any database is opened.

        Raises:
            InputError: the memory limit is not a size, or the timeout is not positive.
        """
        memory_bytes(self.memory_limit)
        if not self.timeout_s > 0:
            raise _fault(f"timeout must be a positive number of seconds, got {self.timeout_s}")


def _fault(message: str) -> InputError:
    return InputError([Fault("sql", "", "", message)])


def memory_bytes(text: str) -> int:
    """Bytes in a DuckDB memory size such as ``1GB`` or ``512MiB``.

    Raises:
        InputError: not a size with a unit.
    """
    match = _MEMORY.fullmatch(text.strip())
    if match is None:
        raise _fault(f"memory limit {text!r} is not a size such as 512MB or 2GiB")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def check_select_only(query: str) -> None:
    """Accept exactly one statement that only reads, judged by DuckDB's own parser.

    Raises:
        InputError: the text is not SQL, holds several statements, is not a SELECT, or
            modifies data anywhere inside (a ``DELETE ... RETURNING`` in a CTE or subquery).
    """
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as error:
        raise _fault(f"not valid SQL: {whole(error)}") from None
    if len(statements) != 1:
        raise _fault(f"give exactly one SELECT statement, found {len(statements)}")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise _fault(f"only SELECT is allowed, found {statements[0].type.name}")
    with duckdb.connect(":memory:") as scratch:
        row = scratch.execute(_SERIALIZE, {"query": query}).fetchone()
    try:
        tree = json.loads(row[0] if row else "{}")
    except RecursionError:
        raise _fault("the query is nested too deeply to check") from None
    if tree.get("error"):
        raise _fault(f"not a plain SELECT: {tree.get('error_message', 'cannot be parsed')}")
    writes = sorted(_query_nodes(tree) - READ_NODES)
    if writes:
        kinds = ", ".join(node.removesuffix("_QUERY_NODE").removesuffix("_NODE") for node in writes)
        raise _fault(f"only reading is allowed, but the query holds a {kinds}")


def _query_nodes(tree: Any) -> set[str]:
    """Every query node type in a serialized parse tree, found without recursion."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            kind = value.get("type")
            if isinstance(kind, str) and kind.endswith("_NODE"):
                found.add(kind)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def whole(error: BaseException) -> str:
    """An error's whole text, its lines joined, so the cause is never cut off."""
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


@contextmanager
def bounded(conn: duckdb.DuckDBPyConnection, limits: QueryLimits) -> Iterator[None]:
    """Run the body's queries on ``conn`` within ``limits``; the connection is for this only
    (its configuration is locked afterwards).

    Raises:
        InputError: the query ran out of time or memory (naming the limit), or failed.
    """
    budget = memory_bytes(limits.memory_limit)
    conn.execute(_SET_MEMORY_LIMIT, {"memory_limit": limits.memory_limit})
    conn.execute(_LOCK_CONFIGURATION)
    timer = threading.Timer(limits.timeout_s, conn.interrupt)
    timer.daemon = True
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    in_use = _data_in_use()
    if in_use:
        resource.setrlimit(
            resource.RLIMIT_DATA, (_lower(soft, in_use + budget + _PROCESS_HEADROOM_BYTES), hard)
        )
    timer.start()
    try:
        yield
    except duckdb.InterruptException:
        raise _fault(
            f"the query ran past the {limits.timeout_s:g} s limit and was stopped "
            "(--timeout, setting sql_timeout_s)"
        ) from None
    except (duckdb.OutOfMemoryException, MemoryError) as error:
        raise _fault(
            f"the query needs more memory than the {limits.memory_limit} limit "
            f"(--memory-limit, setting sql_memory_limit): {whole(error)}"
        ) from None
    except duckdb.Error as error:
        raise _fault(whole(error)) from None
    finally:
        timer.cancel()
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _lower(limit: int, ceiling: int) -> int:
    """The lower of a resource limit (``RLIM_INFINITY`` for none) and ``ceiling``."""
    return ceiling if limit == resource.RLIM_INFINITY else min(limit, ceiling)


def _data_in_use() -> int:
    """The process's data segment now (``VmData``), where Linux reports it; else 0."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
