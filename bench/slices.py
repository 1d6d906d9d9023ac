"""Building a bench record a time slice at a time, as a worker would have built it.

At 100M events neither one sort of the whole generated log nor the aggregates' whole rebuild
fits this machine (the sort ran out of 19 GB; the rebuild's window passes spilled 23 GB in
nine minutes). The sink never does either: it refreshes the Workloads a batch touches from
their first event, and the minutes from the batch's earliest event. Here each slice of the
generated log is one such batch, only larger, through the same refresh
(:func:`taskgov.store.aggregates.refresh`). ``bench/reports.py --check-slices`` builds one
record both ways and compares every aggregate table row for row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

from taskgov.store import Connection, connect_read_write, migrate
from taskgov.store.aggregates import Touched, refresh
from taskgov.store.files import sql_text

SLICE_EVENTS = 4_000_000  # events per generating INSERT (about 1.4 GB to sort)

# The slice, as the sink's staged batch: the sink's own upsert of each Workload's first
# instant (sql/sink/staged_workload_first_events.sql) then reads it. Bounds are datetimes
# this module computed, written as literals since a view takes no parameters.
_STAGE_SLICE = """
CREATE OR REPLACE TEMP VIEW staged_workload_events AS
FROM workload_events
WHERE occurred_at >= TIMESTAMP '{events_from}' AND occurred_at < TIMESTAMP '{events_to}'
"""
_LATEST = "SELECT max(occurred_at) FROM staged_workload_events"


def time_slices(
    start: datetime, days: int, events: int, slice_events: int = SLICE_EVENTS
) -> list[tuple[datetime, datetime]]:
    """Consecutive spans of the ``days`` from ``start``, about ``slice_events`` events each,
    one INSERT each, so that sorting one span's events fits in memory; the last span is
    open-ended, since the last Workloads finish after the month. A Workload lives under 6 hours
    (the generator's longest wait, run and requeue), so each span reads the Workloads submitted
    from 6 hours before it: the log is still appended in time order as a whole."""
    slices = max(1, min(days, events // slice_events))
    span = timedelta(days=days) / slices
    bounds = [start + span * k for k in range(slices)] + [datetime.max]
    return list(pairwise(bounds))


def refresh_slice(conn: Connection, events_from: datetime, events_to: datetime) -> None:
    """Refresh the aggregates for the slice of the log just appended, as the sink refreshes a
    batch: its Workloads from their first event, the minutes from the slice's start."""
    conn.execute(_STAGE_SLICE.format(events_from=events_from, events_to=events_to))
    touched = conn.execute(sql_text("sink/staged_workload_first_events.sql")).fetchall()
    latest_row = conn.execute(_LATEST).fetchone()
    conn.execute("DROP VIEW staged_workload_events")
    if not touched:
        return
    workloads = Touched(
        [str(r[0]) for r in touched], [str(r[1]) for r in touched], min(r[2] for r in touched)
    )
    refresh(conn, workloads, events_from, None, latest=latest_row[0] if latest_row else None)


# The tables a build writes, compared row for row by --check-slices.
AGGREGATE_TABLES = (
    "workload_intervals",
    "open_workload_intervals",
    "workload_waits",
    "usage_minutes",
    "workload_first_events",
    "aggregate_state",
    "preemption_records",
    "pending_cause_parts",
    "pending_cause_days",
    "workload_identities",
    "starved_minutes",
)


def check_slices(
    generate: Callable[..., object], rebuild: Callable[[Connection], object], scratch: Path
) -> int:
    """Build one record twice with ``generate(conn, in_slices=...)``: rebuilt whole
    (``rebuild``) and slice by slice, and print per aggregate table the rows only one build
    has; returns their total."""
    paths = {}
    for name, in_slices in (("rebuilt", False), ("sliced", True)):
        paths[name] = scratch / f"{name}.duckdb"
        with connect_read_write(paths[name]) as conn:
            migrate(conn)
            generate(conn, in_slices=in_slices)
            if not in_slices:
                rebuild(conn)
    conn = connect_read_write(scratch / "compare.duckdb")
    for name, path in paths.items():
        conn.execute(f"ATTACH '{path}' AS {name} (READ_ONLY)")
    differing = 0
    for table in AGGREGATE_TABLES:
        counts = [
            conn.execute(
                f"SELECT count(*) FROM (FROM {a}.{table} EXCEPT ALL FROM {b}.{table})"  # noqa: S608
            ).fetchone()
            for a, b in (("rebuilt", "sliced"), ("sliced", "rebuilt"))
        ]
        only = [int(c[0]) if c else 0 for c in counts]
        differing += sum(only)
        print(f"{table:<28} only rebuilt {only[0]:>8,}  only sliced {only[1]:>8,}")
    conn.close()
    return differing
