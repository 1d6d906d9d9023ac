"""The aggregates the worker keeps beside the event log, and the watermark they are built to.

``workload_intervals`` and ``workload_waits`` are refreshed per Workload a batch touches;
``usage_minutes`` from the earliest minute a batch can change (a Workload's state at time t
depends only on its events <= t), up to the watermark. Every derivation lives in ``sql/views``;
the statements that apply them are in ``sql/sink``.
"""

from __future__ import annotations

from datetime import datetime

from taskgov.store.connect import Connection
from taskgov.store.files import run_script, sql_text


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


def refresh(
    conn: Connection,
    uids: list[str] | None,
    since: datetime | None,
    clock: datetime | None,
    *,
    rebuild: bool = False,
) -> datetime | None:
    """Refresh the per-Workload tables for ``uids`` (None: all), and minutes from ``since`` on.

    The watermark moves to the latest event or ``clock``, whichever is later, never back;
    minutes are refreshed from ``since`` or the previous watermark, whichever is earlier
    (from the first event when ``rebuild``).

    Returns:
        The first minute refreshed, or None when the log is empty.
    """
    row = conn.execute(sql_text("sink/event_log_bounds.sql")).fetchone()
    latest, earliest = row if row else (None, None)
    previous = watermark(conn)
    if latest is None:
        run_script(conn, "sink/clear_aggregates.sql", {})
        return None
    moved = max(t for t in (latest, previous, clock) if t is not None)
    conn.execute(sql_text("sink/set_watermark.sql"), {"watermark": moved})
    if uids is None or rebuild:
        run_script(conn, "sink/refresh_all_workloads.sql", {})
    elif uids:
        run_script(conn, "sink/refresh_some_workloads.sql", {"uids": uids})
    starts = (earliest, previous) if rebuild else (since, previous)
    start: datetime = min(t for t in (*starts, moved) if t is not None)
    run_script(conn, "sink/refresh_minutes.sql", {"since": start, "until": moved})
    return start.replace(second=0, microsecond=0)
