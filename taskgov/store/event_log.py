"""Writing one batch of the watcher's events to the event log, with what it changes.

:func:`write_batch` runs inside the caller's transaction:

1. stage the batch, one version per event id (exact before inferred, then earliest observed);
2. store the events that are new, or that beat the stored version of their id, so a batch
   delivered twice, or replayed in any order, leaves exactly the same tables. The log has no
   index over every id (its cost grew with the log): an id hashes its Workload, so its stored
   version is among that Workload's events, read from the log's tail
   (``workload_first_events``);
3. record the Kafka offsets the batch covers (``applied_offsets``), so a restarted worker seeks
   there whatever the broker remembers;
4. refresh the aggregates (:mod:`taskgov.store.aggregates`) from what the batch changed.

The batch arrives as columns (plain lists), so this layer knows nothing of the event models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from taskgov.store.aggregates import Touched, refresh
from taskgov.store.connect import Connection
from taskgov.store.files import run_script, sql_text, statements

# Above this many Workloads touched by one batch, rebuilding the per-Workload tables whole is
# cheaper than filtering the views by a list of uids.
FULL_REFRESH_UIDS = 20_000

Columns = dict[str, list[Any]]
Rows = list[dict[str, Any]]  # one dict per row, keyed by column name
_Key = tuple[str, str]  # a Workload: (cluster, uid)


@dataclass(frozen=True, slots=True)
class EventBatch:
    """One batch, as the statements of ``sql/sink`` take it.

    Attributes:
        workload_events: each Workload event as JSON (``stage_workload_events.sql``).
        repeats_ids: some Workload event id occurs twice in the batch.
        cluster_queues: the ClusterQueue events, as the rows of ``cluster_queue_events`` with
            their place in the batch (``stage_cluster_queue_events.sql``).
        quotas: their quota lines, as rows of ``cluster_queue_quotas`` with the place of
            their event (``stage_cluster_queue_quotas.sql``).
        dead_letters: the rows of ``dead_letters`` (``store_dead_letters.sql``).
        offsets: ``store_offsets.sql``'s parameters (empty: none).
    """

    workload_events: list[str]
    repeats_ids: bool
    cluster_queues: Rows = field(default_factory=list)
    quotas: Rows = field(default_factory=list)
    dead_letters: Rows = field(default_factory=list)
    offsets: Columns = field(default_factory=dict)


def write_batch(
    conn: Connection, batch: EventBatch, watermark: datetime | None
) -> tuple[int, datetime | None]:
    """Store ``batch`` and refresh what it changes, inside the caller's transaction.

    Args:
        conn: a migrated, writable connection inside a transaction.
        batch: the events, dead letters and offsets.
        watermark: an instant (naive UTC) the aggregates should reach even without events
            that late; it never moves back.

    Returns:
        How many events were new or replaced a worse stored version, and the first minute of
        ``usage_minutes`` refreshed (None if none was).
    """
    first_at = _store_workload_events(conn, batch)
    _stage(conn, "sink/stage_cluster_queue_events.sql", batch.cluster_queues)
    _stage(conn, "sink/stage_cluster_queue_quotas.sql", batch.quotas)
    conn.execute(sql_text("sink/changed_cluster_queue_events.sql"))
    run_script(conn, "sink/store_cluster_queue_events.sql", {})
    if batch.dead_letters:
        conn.execute(sql_text("sink/store_dead_letters.sql"), {"rows": batch.dead_letters})
    if batch.offsets:
        conn.execute(sql_text("sink/store_offsets.sql"), batch.offsets)
    row = conn.execute(sql_text("sink/changes.sql")).fetchone()
    stored, since, latest = (int(row[0]), row[1], row[2]) if row else (0, None, None)
    if since is None and watermark is None:
        return stored, None
    touched = _touched_workloads(conn, first_at)
    return stored, refresh(conn, touched, since, watermark, latest=latest)


def _stage(conn: Connection, name: str, rows: Rows) -> None:
    """Create the staged table of ``sql/name`` (typed like the table it stages for), then fill
    it with ``rows``: one idiom for every batch that crosses as rows, so no statement lists its
    columns again. With no rows only the table is created (an empty list names no columns)."""
    (create, _), (fill, _) = statements(name)
    conn.execute(create)
    if rows:
        conn.execute(fill, {"rows": rows})


def _store_workload_events(conn: Connection, batch: EventBatch) -> dict[_Key, datetime]:
    """Stage the batch's Workload events and store the new or better ones.

    Returns each staged Workload's ``first_at``. No index over every stored id is involved: a
    stored version of an id is among its Workload's events, read from the log's tail.
    """
    conn.execute(sql_text("sink/stage_workload_events.sql"), {"events": batch.workload_events})
    if batch.repeats_ids:
        conn.execute(sql_text("sink/dedupe_staged_workload_events.sql"))
    rows = conn.execute(sql_text("sink/staged_workload_first_events.sql")).fetchall()
    first_at = {(str(r[0]), str(r[1])): r[2] for r in rows}
    params = {"first_at": min(first_at.values(), default=datetime.max)}
    conn.execute(sql_text("sink/changed_workload_events.sql"), params)
    run_script(conn, "sink/store_workload_events.sql", params)
    return first_at


def _touched_workloads(conn: Connection, first_at: dict[_Key, datetime]) -> Touched | None:
    """The Workloads the changed events touch (None: too many, rebuild the tables whole)."""
    rows = conn.execute(sql_text("sink/changed_workloads.sql")).fetchall()
    if len(rows) > FULL_REFRESH_UIDS:
        return None
    if not rows:
        return Touched([], [], datetime.min)
    keys = [(str(r[0]), str(r[1])) for r in rows]
    return Touched([c for c, _ in keys], [u for _, u in keys], min(first_at[k] for k in keys))


def applied_offsets(conn: Connection) -> dict[tuple[str, int], int]:
    """The next offset to consume per (topic, partition), as committed with the events."""
    rows = conn.execute(sql_text("sink/applied_offsets.sql")).fetchall()
    return {(str(topic), int(partition)): int(offset) for topic, partition, offset in rows}
