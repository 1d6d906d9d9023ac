"""Alert lifecycle and delivery: fire once, keep firing, resolve when the condition ends.

Each evaluation compares the alerts whose condition holds (``alert_rules.evaluate``) with
those active before, by label set: new ones fire, missing ones resolve. Alertmanager gets
every active alert on each evaluation with ``endsAt`` a few periods ahead (as Prometheus
does, so a stopped evaluator's alerts expire by themselves) and a resolved one once with
``endsAt`` = now; it dedupes repeats by label set. Kafka (``PREFIX.alert-events``) gets one
record per transition only: ``firing`` once, ``resolved`` once. That topic is also the
record a restarted server reads back, so it neither fires an active alert again nor forgets
to resolve it.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from streams.consume import read_all
from streams.produce import DeliveryFailed, send_all
from taskgov.errors import TaskgovError
from taskgov.serve.alert_rules import Alert

LOG = logging.getLogger("taskgov.serve.alerts")
# A firing alert's endsAt is this many evaluation periods ahead (Prometheus uses 4).
RESEND_PERIODS = 4


class AlertDeliveryFailed(TaskgovError):
    """Alertmanager or Kafka did not take the alerts."""


@dataclass(frozen=True, slots=True)
class Transition:
    """An alert that fired or resolved at ``at``."""

    status: Literal["firing", "resolved"]
    alert: Alert
    at: datetime

    def wire(self, ends_at: datetime | None) -> dict[str, Any]:
        """Alertmanager's v2 postable alert (and our Kafka record)."""
        record: dict[str, Any] = {
            "labels": self.alert.labels,
            "annotations": self.alert.annotations,
            "startsAt": self.alert.starts_at.isoformat(),
        }
        if ends_at is not None:
            record["endsAt"] = ends_at.isoformat()
        return record


@dataclass
class AlertBook:
    """The active alerts by label set, and every transition so far (oldest first)."""

    active: dict[str, Alert] = field(default_factory=dict)
    history: list[Transition] = field(default_factory=list)

    def restore(self, records: list[dict[str, Any]]) -> None:
        """Replay transitions read back from Kafka (oldest first), so a restarted server
        neither fires an alert again nor forgets to resolve one."""
        for record in records:
            alert = Alert(
                labels=record["labels"],
                annotations=record["annotations"],
                starts_at=datetime.fromisoformat(record["startsAt"]),
            )
            if record["status"] == "firing":
                self.active[alert.fingerprint] = alert
                self.history.append(Transition("firing", alert, alert.starts_at))
            else:
                self.active.pop(alert.fingerprint, None)
                ended = datetime.fromisoformat(record.get("endsAt") or record["startsAt"])
                self.history.append(Transition("resolved", alert, ended))

    def update(self, current: list[Alert], now: datetime) -> list[Transition]:
        """Record what holds ``now``; returns the alerts that fired or resolved."""
        holding = {alert.fingerprint: alert for alert in current}
        changes = [
            Transition("firing", alert, now)
            for key, alert in holding.items()
            if key not in self.active
        ]
        changes += [
            Transition("resolved", alert, now)
            for key, alert in self.active.items()
            if key not in holding
        ]
        self.active = {key: self.active.get(key, alert) for key, alert in holding.items()}
        self.history.extend(changes)
        return changes


def post_to_alertmanager(
    url: str, book: AlertBook, changes: list[Transition], now: datetime, period: timedelta
) -> None:
    """POST every active alert and each newly resolved one to ``url``/api/v2/alerts.

    Raises:
        AlertDeliveryFailed: Alertmanager refused them or cannot be reached.
    """
    ends = now + RESEND_PERIODS * period
    body = [Transition("firing", alert, now).wire(ends) for alert in book.active.values()]
    body += [c.wire(now) for c in changes if c.status == "resolved"]
    if not body:
        return
    request = urllib.request.Request(  # noqa: S310 - the operator's Alertmanager URL
        url.rstrip("/") + "/api/v2/alerts",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()
    except OSError as error:
        raise AlertDeliveryFailed(f"alertmanager {url}: {error}") from None


def send_to_kafka(bootstrap: str, topic: str, changes: list[Transition]) -> None:
    """Send one record per transition to ``topic``, keyed by the alert's label set.

    Raises:
        AlertDeliveryFailed: the broker did not take every record.
    """
    if not changes:
        return
    records = []
    for change in changes:
        ends = change.at if change.status == "resolved" else None
        record = {"status": change.status, **change.wire(ends)}
        records.append((change.alert.fingerprint.encode(), json.dumps(record).encode()))
    try:
        send_all(bootstrap, topic, records)
    except DeliveryFailed as error:
        raise AlertDeliveryFailed(f"kafka {bootstrap} topic {topic}: {error}") from None


def read_transitions(bootstrap: str, topic: str, *, idle_ms: int = 1500) -> list[dict[str, Any]]:
    """Every transition record on ``topic``, oldest first per alert (an absent topic: none).

    Raises:
        AlertDeliveryFailed: the broker cannot be reached or a record is not a transition.
    """
    try:
        messages = read_all(bootstrap, topic, idle_ms=idle_ms)
    except DeliveryFailed as error:
        raise AlertDeliveryFailed(f"kafka {bootstrap} topic {topic}: {error}") from None
    records = []
    for message in messages:
        try:
            record = json.loads(message.value)
            assert record["status"] in ("firing", "resolved")
        except (ValueError, KeyError, TypeError, AssertionError):
            raise AlertDeliveryFailed(
                f"kafka topic {topic} partition {message.partition} offset "
                f"{message.offset}: not an alert transition"
            ) from None
        records.append((message.timestamp, message.partition, message.offset, record))
    return [record for *_, record in sorted(records, key=lambda r: r[:3])]


@dataclass
class Deliveries:
    """Where alerts go: Alertmanager's base URL and a Kafka broker and topic (each optional)."""

    alertmanager_url: str = ""
    kafka_bootstrap: str = ""
    kafka_topic: str = "taskgov.alert-events"


def deliver(
    book: AlertBook,
    changes: list[Transition],
    to: Deliveries,
    now: datetime,
    period: timedelta,
) -> None:
    """Deliver one evaluation's result everywhere configured; log, never raise, on failure
    (the next evaluation resends what Alertmanager missed)."""
    targets: list[tuple[str, Callable[[], None]]] = []
    if to.alertmanager_url:
        url = to.alertmanager_url
        targets.append(
            ("alertmanager", lambda: post_to_alertmanager(url, book, changes, now, period))
        )
    if to.kafka_bootstrap:
        targets.append(
            ("kafka", lambda: send_to_kafka(to.kafka_bootstrap, to.kafka_topic, changes))
        )
    for name, send in targets:
        try:
            send()
        except AlertDeliveryFailed as error:
            LOG.warning("event=alert_delivery_failed target=%s error=%r", name, str(error))
