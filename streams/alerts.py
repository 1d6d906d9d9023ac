"""Starvation alerts: a team waits for GPUs while part of its own guarantee sits unused.

An alert fires once per starvation episode (the ``starvation`` report's runs of minutes with
pending demand while used < nominal) that is still going on at the watermark and has lasted
``min_minutes``. Alerts go to the Kafka topic ``PREFIX.alerts`` (keyed by team), which is
also their record: before sending, the topic is read back, and an episode that already has an
alert sent during it gets no second one. DuckDB is only read, so the worker stays its only
writer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from streams.consume import read_all
from streams.produce import DeliveryFailed, send_all
from taskgov.broker import BrokerError
from taskgov.store import Connection, load_reports, run_report, watermark

ALERT_COLUMNS = [
    "team",
    "instance_type",
    "started_at",
    "starved_minutes",
    "starved_gpu_hours",
    "peak_pending_gpus",
    "avg_unused_guarantee_gpus",
    "as_of",
]


class StarvationAlert(BaseModel):
    """One ongoing starvation episode, as sent to the alerts topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["starvation"] = "starvation"
    alert_id: str
    team: str
    instance_type: str
    started_at: datetime
    starved_minutes: int
    starved_gpu_hours: float
    peak_pending_gpus: float
    avg_unused_guarantee_gpus: float
    as_of: datetime
    message: str


class AlertDeliveryError(BrokerError):
    """The alerts topic could not be read or written at ``bootstrap``."""

    def __init__(self, bootstrap: str, topic: str, reason: str) -> None:
        self.bootstrap, self.topic, self.reason = bootstrap, topic, reason
        super().__init__(f"cannot use alerts topic {topic!r} on broker {bootstrap}: {reason}")


def ongoing_starvation(
    conn: Connection, *, min_minutes: int, lookback: timedelta
) -> list[StarvationAlert]:
    """Episodes still going on at the watermark that have lasted at least ``min_minutes``.

    Only the last ``lookback`` is read; an episode begun earlier shows as begun then.
    """
    as_of = watermark(conn)
    if as_of is None:
        return []
    # usage_minutes ends with the minute that holds the watermark (the one before, when the
    # watermark is on a minute boundary): an episode reaching it is still going on.
    last_end = as_of.replace(second=0, microsecond=0)
    if last_end != as_of:
        last_end += timedelta(minutes=1)
    result = run_report(conn, load_reports()["starvation"], since=as_of - lookback)
    alerts = []
    for row in result.rows:
        episode = dict(zip(result.columns, row, strict=True))
        if episode["ended_at"] < last_end or episode["starved_minutes"] < min_minutes:
            continue
        alerts.append(_alert(episode, as_of))
    return alerts


def _alert(episode: dict[str, object], as_of: datetime) -> StarvationAlert:
    team, instance_type = str(episode["team"]), str(episode["instance_type"])
    started_at = episode["started_at"]
    assert isinstance(started_at, datetime)
    minutes = int(episode["starved_minutes"])  # type: ignore[call-overload]
    key = f"{team}/{instance_type}/{started_at.isoformat()}/{as_of.isoformat()}"
    pending = float(episode["peak_pending_gpus"])  # type: ignore[arg-type]
    unused = float(episode["avg_unused_guarantee_gpus"])  # type: ignore[arg-type]
    return StarvationAlert(
        alert_id=hashlib.sha256(key.encode()).hexdigest()[:16],
        team=team,
        instance_type=instance_type,
        started_at=started_at,
        starved_minutes=minutes,
        starved_gpu_hours=float(episode["starved_gpu_hours"]),  # type: ignore[arg-type]
        peak_pending_gpus=pending,
        avg_unused_guarantee_gpus=unused,
        as_of=as_of,
        message=(
            f"{team} has waited for {instance_type} for {minutes} min since "
            f"{started_at:%Y-%m-%d %H:%M} UTC (up to {pending:g} accelerators pending) while "
            f"{unused:g} of its guaranteed accelerators were unused on average"
        ),
    )


def read_sent(bootstrap: str, topic: str, *, idle_ms: int = 1500) -> list[StarvationAlert]:
    """Every alert already on ``topic``, oldest first (an absent topic has none).

    Raises:
        AlertDeliveryError: the broker cannot be reached or a record is not an alert.
    """
    try:
        records = read_all(bootstrap, topic, idle_ms=idle_ms)
    except DeliveryFailed as error:
        raise AlertDeliveryError(bootstrap, topic, str(error)) from None
    sent = []
    for record in records:
        try:
            sent.append(StarvationAlert.model_validate_json(record.value))
        except ValueError as error:
            raise AlertDeliveryError(
                bootstrap,
                topic,
                f"record at partition {record.partition} offset {record.offset} is not an "
                f"alert: {str(error).splitlines()[0]}",
            ) from None
    return sent


def new_alerts(
    current: Iterable[StarvationAlert], sent: Iterable[StarvationAlert]
) -> list[StarvationAlert]:
    """The current alerts whose episode has had no alert yet.

    An episode is a team and instance type from ``started_at``; one sent at or after that
    instant was about the same episode (a longer lookback may show it begun earlier).
    """
    last_sent: dict[tuple[str, str], datetime] = {}
    for alert in sent:
        key = (alert.team, alert.instance_type)
        last_sent[key] = max(alert.as_of, last_sent.get(key, alert.as_of))
    return [
        alert
        for alert in current
        if (alert.team, alert.instance_type) not in last_sent
        or last_sent[(alert.team, alert.instance_type)] < alert.started_at
    ]


def send(bootstrap: str, topic: str, alerts: list[StarvationAlert]) -> None:
    """Send ``alerts`` to ``topic`` and wait until the broker has them all.

    Raises:
        AlertDeliveryError: the broker did not take every alert.
    """
    if not alerts:
        return
    records = [(a.team.encode(), a.model_dump_json().encode()) for a in alerts]
    try:
        send_all(bootstrap, topic, records)
    except DeliveryFailed as error:
        raise AlertDeliveryError(bootstrap, topic, str(error)) from None
