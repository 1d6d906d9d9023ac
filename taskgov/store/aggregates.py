"""The aggregates the worker keeps beside the event log, and the watermark they are built to.

``workload_intervals`` and ``workload_waits`` are refreshed per Workload a batch touches;
``usage_minutes`` from the earliest minute a batch can change (a Workload's state at time t
depends only on its events <= t), up to the watermark. Every derivation lives in ``sql/views``;
the statements that apply them are in ``sql/sink``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from taskgov.store.connect import Connection, transaction
from taskgov.store.files import run_script, sql_text

# The audit of the aggregates against the log that can run incrementally (sql/audits).
LOG_AUDIT = "assert_aggregates_match_log"


def watermark(conn: Connection) -> datetime | None:
    """The instant the aggregates are built to (None: nothing stored yet)."""
    row = conn.execute(sql_text("sink/watermark.sql")).fetchone()
    return row[0] if row else None


def rebuild_aggregates(conn: Connection) -> datetime | None:
    """Rebuild every aggregate from the event log, e.g. after loading events in bulk.

    Args:
        conn: a migrated, writable connection; the caller owns the transaction, if any.

    Returns:
        The first minute rebuilt, or None when the log is empty.
    """
    return refresh(conn, None, None, None, rebuild=True)


@dataclass(frozen=True, slots=True)
class Touched:
    """The Workloads a batch touched, and the earliest instant any of their rows can start.

    Attributes:
        clusters: each Workload's cluster (same order as ``uids``).
        uids: the Workloads.
        first_at: a lower bound of their events, stretches and waits
            (``workload_first_events``); refreshes read only rows from it on.
    """

    clusters: list[str]
    uids: list[str]
    first_at: datetime


def refresh(
    conn: Connection,
    touched: Touched | None,
    since: datetime | None,
    clock: datetime | None,
    *,
    latest: datetime | None = None,
    rebuild: bool = False,
) -> datetime | None:
    """Refresh the per-Workload tables for ``touched`` (None: all), and minutes from ``since``.

    The watermark moves to the latest event or ``clock``, whichever is later, never back;
    minutes are refreshed from ``since`` or the previous watermark, whichever is earlier
    (from the first event when ``rebuild``). ``latest`` is the batch's latest stored event: with
    a watermark already set, it and the watermark give the log's latest without a scan.

    Returns:
        The first minute refreshed, or None when the log is empty.
    """
    previous = watermark(conn)
    earliest: datetime | None = None
    if rebuild or previous is None:
        row = conn.execute(sql_text("sink/event_log_bounds.sql")).fetchone()
        latest, earliest = row if row else (None, None)
    else:
        latest = max(t for t in (latest, previous) if t is not None)
    if latest is None:
        run_script(conn, "sink/clear_aggregates.sql", {})
        return None
    moved = max(t for t in (latest, previous, clock) if t is not None)
    conn.execute(sql_text("sink/set_watermark.sql"), {"watermark": moved})
    if touched is None or rebuild:
        run_script(conn, "sink/refresh_all_workloads.sql", {})
    elif touched.uids:
        params = {"clusters": touched.clusters, "uids": touched.uids, "first_at": touched.first_at}
        run_script(conn, "sink/refresh_some_workloads.sql", params)
    starts = (earliest, previous) if rebuild else (since, previous)
    start: datetime = min(t for t in (*starts, moved) if t is not None)
    run_script(conn, "sink/refresh_minutes.sql", {"since": start, "until": moved})
    refresh_report_summaries(conn, None if rebuild else touched, previous, moved, start)
    _record_change(conn, None if rebuild else touched, start)
    return start.replace(second=0, microsecond=0)


def _record_change(conn: Connection, touched: Touched | None, since: datetime) -> None:
    """Note what this refresh rewrote (``touched`` None: every Workload), so the audit of the
    aggregates against the log can check only that (``sql/audits``)."""
    params = {
        "clusters": touched and touched.clusters,
        "uids": touched and touched.uids,
        "first_at": touched.first_at if touched and touched.uids else None,
        "since": since,
    }
    conn.execute(sql_text("sink/record_aggregate_change.sql"), params)


def audit_aggregates(conn: Connection, *, whole: bool = False) -> list[tuple[object, ...]]:
    """Run ``sql/audits/assert_aggregates_match_log.sql``; when it finds nothing, record a pass.

    After a recorded pass the audit checks only what the sink changed since (the Workloads and
    days in ``aggregate_changes``), so running it after every restart costs what changed, not
    the history; ``whole`` checks everything, as the first pass does.

    Args:
        conn: a migrated, writable connection, not inside a transaction.
        whole: audit every Workload and day, whatever was audited before.

    Returns:
        The audit's rows (empty: the aggregates match the log).
    """
    with transaction(conn):
        row = conn.execute(sql_text("sink/audit_changes_through.sql")).fetchone()
        through = int(row[0]) if row else 0
        conn.execute(f"SET VARIABLE taskgov_full_audit = {str(whole).lower()}")
        try:
            rows = conn.execute(sql_text(f"audits/{LOG_AUDIT}.sql")).fetchall()
        finally:
            conn.execute("RESET VARIABLE taskgov_full_audit")
        if not rows:
            params = {"audit": LOG_AUDIT, "through": through, "whole": whole}
            run_script(conn, "sink/record_audit_pass.sql", params)
    return rows


def log_audit_needs_whole(conn: Connection) -> bool:
    """Whether :func:`audit_aggregates` would check everything (no pass recorded yet, or a
    rebuild since the last): a worker asks first, since a whole audit costs the history."""
    row = conn.execute(sql_text("sink/log_audit_needs_whole.sql")).fetchone()
    return bool(row and row[0])


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def refresh_report_summaries(
    conn: Connection,
    touched: Touched | None,
    previous: datetime | None,
    moved: datetime,
    minutes_from: datetime,
) -> None:
    """Bring the report summaries (``sql/schema/009_report_summaries.sql``) to the watermark.

    They are refreshed for the Workloads ``touched`` (None: rebuilt whole, as they are when no
    watermark was set before), for the days the watermark completed since ``previous``, and
    for the minutes from ``minutes_from`` on, after the tables they read (workload_intervals,
    usage_minutes). So ``preemptions``, ``pending_causes`` and ``starvation`` read rows in
    proportion to what they show, not the history.
    """
    through = _day(moved)
    if touched is None or previous is None:
        run_script(conn, "sink/report_summaries_rebuild.sql", {"through": through})
        return
    if touched.uids:
        run_script(conn, "sink/workload_identities_refresh.sql", {})
        run_script(conn, "sink/preemption_records_refresh.sql", {"first_at": touched.first_at})
    params = {
        "clusters": touched.clusters,
        "uids": touched.uids,
        "first_at": touched.first_at if touched.uids else moved,
        "previous_through": _day(previous),
        "through": through,
    }
    run_script(conn, "sink/pending_cause_parts_refresh.sql", params)
    run_script(conn, "sink/starved_minutes_refresh.sql", {"since": minutes_from})


def rebuild_report_summaries(conn: Connection) -> None:
    """Rebuild the report summaries from the log and ``workload_intervals`` (after migration
    009 on a record with history, or in a lake's in-memory database)."""
    moved = watermark(conn)
    if moved is not None:
        run_script(conn, "sink/report_summaries_rebuild.sql", {"through": _day(moved)})
