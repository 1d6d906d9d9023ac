"""The worker audits what it wrote: every ``audit_every_s`` seconds, between two batches, the
incremental audit of the aggregates against the event log (``assert_aggregates_match_log``,
:func:`taskgov.store.audit_aggregates`) runs on the worker's own connection.

The worker is the file's writer, so no other process could run it while the worker holds the
lock, and each refresh of the aggregates records what it rewrote (``aggregate_changes``) until a
pass covers it: without a pass that table only grows. A pass records itself and forgets the
changes it covered, so each audit costs the changes since the previous one, not the history
(a record never audited, or rebuilt since the last pass, would need a whole audit, which costs
the history while batches wait: the worker skips it, logs ``event=audit_skipped`` with the
command to run, ``taskgov audit --whole``, and asks again at the next interval). An audit that
finds rows records no pass and forgets nothing (the next one checks the same changes again, and
more), logs one error line naming the audit and the number of rows, and counts them; the worker
keeps storing batches, since the event log, the system of record, is intact and the aggregates
can be rebuilt from it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from streams.agents.events import BatchWriter
from streams.app import WorkerApp, WorkerSettings
from streams.sink_duckdb import SinkError
from taskgov.store.aggregates import LOG_AUDIT

log = logging.getLogger("taskgov.worker")


@dataclass
class AuditCounts:
    """The worker's audits since it started (each log line carries them too).

    Attributes:
        passed: audits that found nothing (each recorded a pass).
        failed: audits that found rows (no pass recorded).
        unable: audits that could not run (the database failed).
        skipped: audits not run because only a whole one could (no pass recorded yet).
    """

    passed: int = 0
    failed: int = 0
    unable: int = 0
    skipped: int = 0


async def audit_once(writer: BatchWriter, counts: AuditCounts) -> list[tuple[object, ...]]:
    """Run the incremental audit between batches, log what it found and count it.

    Returns:
        The rows it found (empty: a pass was recorded, or the audit could not or need not run).
    """
    started = time.perf_counter()
    try:
        rows = await writer.audit_aggregates()
    except SinkError as error:
        counts.unable += 1
        log.error(
            "event=audit_unable audit=%s unable_total=%d error=%r",
            LOG_AUDIT,
            counts.unable,
            error.cause[:300],
        )
        return []
    if rows is None:
        counts.skipped += 1
        log.warning(
            "event=audit_skipped audit=%s reason=whole_audit_needed skipped_total=%d hint=%r",
            LOG_AUDIT,
            counts.skipped,
            "no pass recorded, or a rebuild since: stop the worker and run "
            "`taskgov audit --whole` once; later audits are incremental",
        )
        return []
    seconds = time.perf_counter() - started
    if rows:
        counts.failed += 1
        log.error(
            "event=audit_failed audit=%s rows=%d pass_recorded=false seconds=%.3f "
            "failed_total=%d first=%r",
            LOG_AUDIT,
            len(rows),
            seconds,
            counts.failed,
            rows[0],
        )
    else:
        counts.passed += 1
        log.info(
            "event=audit_passed audit=%s seconds=%.3f passed_total=%d",
            LOG_AUDIT,
            seconds,
            counts.passed,
        )
    return rows


def schedule_audits(app: WorkerApp, settings: WorkerSettings, writer: BatchWriter) -> AuditCounts:
    """Run :func:`audit_once` every ``settings.audit_every_s`` seconds (the first after one
    interval), unless it is 0. Returns the counts the audits keep."""
    counts = AuditCounts()
    if settings.audit_every_s > 0:

        @app.timer(settings.audit_every_s, name="audit-aggregates")
        async def audit_aggregates() -> None:
            await audit_once(writer, counts)

    return counts
