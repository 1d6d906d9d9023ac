"""The store layer: the only code that opens the DuckDB system of record.

Owns: connections (read-write; read-only with a bounded wait while the writer holds the file),
migrations (``sql/schema`` and ``sql/views``, each schema file applied by its owner), the
watermark, the reports of ``sql/reports``, and the writers of the tables it owns: the event log
and its aggregates (for the worker's sink) and the run records other layers hand it.

May import: ``duckdb``, ``taskgov.errors``. Nothing else of taskgov, ``streams`` or
``optimizer``: they call it with plain values and it hands back rows.
"""

from taskgov.store.aggregates import audit_aggregates, rebuild_aggregates, watermark
from taskgov.store.connect import (
    LOCK_WAIT_S,
    Connection,
    QueryError,
    connect_memory,
    connect_read_only,
    connect_read_write,
    database_path,
    is_database_fault,
    table_names,
    transaction,
)
from taskgov.store.files import SQL_DIR, run_script, sql_text
from taskgov.store.migrations import MigrationError, Owner, migrate, pending_versions
from taskgov.store.reports import (
    REPORTS_DIR,
    Report,
    Result,
    load_reports,
    open_read_only,
    run_report,
    run_select,
)

__all__ = [
    "LOCK_WAIT_S",
    "REPORTS_DIR",
    "SQL_DIR",
    "audit_aggregates",
    "Connection",
    "MigrationError",
    "Owner",
    "QueryError",
    "Report",
    "Result",
    "connect_memory",
    "connect_read_only",
    "connect_read_write",
    "database_path",
    "is_database_fault",
    "load_reports",
    "migrate",
    "open_read_only",
    "pending_versions",
    "rebuild_aggregates",
    "run_report",
    "run_script",
    "run_select",
    "sql_text",
    "table_names",
    "transaction",
    "watermark",
]
