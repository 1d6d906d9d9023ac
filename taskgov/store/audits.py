"""Running the audits of ``sql/audits``: each is a SELECT that returns no rows when the tables
it checks agree.

The log-vs-aggregates audit is the expensive one (minutes at 10M events): it goes through
:func:`taskgov.store.aggregates.audit_aggregates`, which checks only what the sink changed since
its last recorded pass. The others read the aggregates alone and run whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from taskgov.store.aggregates import LOG_AUDIT, audit_aggregates
from taskgov.store.connect import Connection
from taskgov.store.files import SQL_DIR, sql_text


@dataclass(frozen=True, slots=True)
class AuditResult:
    """One audit's rows: empty when it passed, else the disagreeing rows it names."""

    name: str
    rows: list[tuple[object, ...]]


def audit_names() -> list[str]:
    """Every audit in ``sql/audits``, by name, in file order."""
    return sorted(path.stem for path in (SQL_DIR / "audits").glob("*.sql"))


def run_audits(conn: Connection, *, whole: bool = False) -> list[AuditResult]:
    """Run every audit; the log audit incrementally unless ``whole`` (see the module).

    Args:
        conn: a migrated, writable connection (the log audit records its passes).
        whole: check every Workload and day in the log audit, whatever was checked before.
    """
    results = []
    for name in audit_names():
        if name == LOG_AUDIT:
            rows = audit_aggregates(conn, whole=whole)
        else:
            rows = conn.execute(sql_text(f"audits/{name}.sql")).fetchall()
        results.append(AuditResult(name, rows))
    return results
