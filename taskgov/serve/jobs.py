"""Scheduled jobs inside ``taskgov serve``: alert evaluation every period, recommendations
on a cron schedule.

Both run in daemon threads and stop with the server. Recommendations write the record, and
the server only reads it, so each run is its own ``taskgov recommend`` process (the store's
writer), started when the schedule's minute comes.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from taskgov.errors import Fault, InputError, TaskgovError
from taskgov.serve.alert_rules import RuleSettings, evaluate
from taskgov.serve.alerting import AlertBook, Deliveries, deliver, read_transitions
from taskgov.serve.records import plain, reading

LOG = logging.getLogger("taskgov.serve.jobs")


@dataclass
class AlertJob:
    """Evaluates the alert rules over the record and delivers each transition."""

    db_path: Path
    rules: RuleSettings
    to: Deliveries
    period: timedelta
    clock: Callable[[], datetime]
    book: AlertBook = field(default_factory=AlertBook)
    lock: threading.Lock = field(default_factory=threading.Lock)
    restored: bool = False

    def run_once(self) -> None:
        """One evaluation and its deliveries (the first reads back what Kafka holds)."""
        if not self.restored and self.to.kafka_bootstrap:
            records = read_transitions(self.to.kafka_bootstrap, self.to.kafka_topic)
            with self.lock:
                self.book.restore(records)
        self.restored = True
        now = self.clock()
        with reading(self.db_path) as conn:
            current = evaluate(conn, self.rules, now)
        with self.lock:
            changes = self.book.update(current, now)
        deliver(self.book, changes, self.to, now, self.period)
        for change in changes:
            LOG.info("event=alert status=%s alert=%s", change.status, change.alert.fingerprint)

    def payload(self, _given: dict[str, object]) -> dict[str, Any]:
        """``/api/alerts``: the active alerts, every transition so far, and each firing as an
        episode with the instant it resolved (null: still firing)."""
        with self.lock:
            active = [a.model_dump(mode="json") for a in self.book.active.values()]
            history = [
                {"status": t.status, "at": plain(t.at), **t.alert.model_dump(mode="json")}
                for t in self.book.history
            ]
        episodes: list[dict[str, Any]] = []
        open_by_labels: dict[str, dict[str, Any]] = {}
        for change, shown in zip(self.book.history, history, strict=True):
            key = change.alert.fingerprint
            if change.status == "firing":
                open_by_labels[key] = {**shown, "resolved_at": None}
                episodes.append(open_by_labels[key])
            elif key in open_by_labels:
                open_by_labels.pop(key)["resolved_at"] = shown["at"]
        return {"active": active, "history": history, "episodes": episodes, "evaluating": True}


def _field_matches(spec: str, value: int, low: int) -> bool:
    for part in spec.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = low, 10_000
        elif "-" in base:
            start, end = (int(x) for x in base.split("-"))
        else:
            start = end = int(base)
            if step_text:
                end = 10_000
        if start <= value <= end and (value - start) % step == 0:
            return True
    return False


def cron_matches(schedule: str, moment: datetime) -> bool:
    """True when ``moment``'s minute is one of the five-field cron ``schedule``'s minutes
    (minute hour day-of-month month day-of-week; ``*``, lists, ranges, ``/step``; Sunday 0).

    Raises:
        InputError: the schedule is not five fields of numbers, ranges, lists and steps.
    """
    fields = schedule.split()
    if len(fields) != 5:
        raise InputError([Fault("schedule", schedule, "", "expected five cron fields")])
    values = (moment.minute, moment.hour, moment.day, moment.month, moment.isoweekday() % 7)
    lows = (0, 0, 1, 1, 0)
    try:
        return all(_field_matches(f, v, lo) for f, v, lo in zip(fields, values, lows, strict=True))
    except ValueError:
        raise InputError([Fault("schedule", schedule, "", "not a cron schedule")]) from None


@dataclass
class RecommendJob:
    """Runs ``taskgov recommend --policy POLICY --db DB`` at each minute ``schedule`` names."""

    db_path: Path
    policy: Path
    schedule: str

    def run_once(self) -> int:
        """One recommendation run; returns its exit code."""
        command = [
            sys.executable,
            "-m",
            "taskgov.cli",
            "recommend",
            "--policy",
            str(self.policy),
            "--db",
            str(self.db_path),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        LOG.info("event=recommend exit_code=%d", done.returncode)
        return done.returncode


def every(period: timedelta, action: Callable[[], object], stop: threading.Event) -> None:
    """Call ``action`` now and then every ``period`` until ``stop``; log failures, go on."""
    while not stop.is_set():
        try:
            action()
        except TaskgovError as error:
            LOG.warning("event=job_failed error=%r", str(error))
        stop.wait(period.total_seconds())


def on_schedule(job: RecommendJob, clock: Callable[[], datetime], stop: threading.Event) -> None:
    """Run ``job`` at each minute its schedule names, until ``stop``."""
    last_minute: datetime | None = None
    while not stop.wait(1.0):
        minute = clock().replace(second=0, microsecond=0)
        if minute != last_minute and cron_matches(job.schedule, minute):
            last_minute = minute
            job.run_once()


def start_thread(target: Callable[..., None], *args: object) -> threading.Thread:
    """A daemon thread running ``target(*args)``, started."""
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread
