"""Builders for the wire events the sink stores, so each test says only what differs.

Times are written ``"HH:MM[:SS]"`` on :data:`DAY` (UTC), ``"dN HH:MM"`` for N days later, or as
full ISO 8601 datetimes.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from streams.events import (
    ClusterQueueEvent,
    QuotaLine,
    WorkloadEvent,
    WorkloadEventType,
    event_id,
)

DAY = datetime(2024, 5, 1)
CLUSTER = "test-cluster"
GPU = "nvidia.com/gpu"
# Event types after which the Workload has a flavor (Kueue sets it once quota is reserved).
_ASSIGNED = {"quota_reserved", "admitted", "preempted", "evicted", "finished"}
_RESOURCE_ALIASES = {"gpu": GPU, "neuron": "aws.amazon.com/neurondevice"}


def at(text: str | datetime) -> datetime:
    """The instant ``text`` names (see the module docstring)."""
    if isinstance(text, datetime):
        return text
    day = DAY
    if text.startswith("d") and " " in text:
        offset, text = text.split(" ", 1)
        day = DAY + timedelta(days=int(offset[1:]))
    if "T" in text or "-" in text:
        return datetime.fromisoformat(text)
    parts = [int(p) for p in text.split(":")]
    return day + timedelta(
        hours=parts[0], minutes=parts[1], seconds=parts[2] if len(parts) > 2 else 0
    )


class WorkloadBuilder:
    """A Kueue Workload's life as the watcher reports it, one event per transition.

    ``make_workload("train-1").team("team-a").gpus(2).flavor("ml.g5.8xlarge")
    .event("00:00", "submitted").event("00:05", "admitted").events()``
    """

    def __init__(self, name: str) -> None:
        self._fields: dict[str, Any] = {
            "cluster": CLUSTER,
            "namespace": "hyperpod-ns-team-a",
            "name": name,
            "uid": f"uid-{name}",
            "team": "team-a",
            "local_queue": "hyperpod-ns-team-a-localqueue",
            "priority": 0,
            "priority_class": None,
            "accelerators": 0,
            "requests": {},
        }
        self._flavor: str | None = None
        self._transitions: list[tuple[datetime, WorkloadEventType, dict[str, Any]]] = []

    def team(self, team: str) -> WorkloadBuilder:
        self._fields["team"] = team
        self._fields["namespace"] = f"hyperpod-ns-{team}"
        self._fields["local_queue"] = f"hyperpod-ns-{team}-localqueue"
        return self

    def cluster(self, cluster: str) -> WorkloadBuilder:
        self._fields["cluster"] = cluster
        return self

    def gpus(self, count: int) -> WorkloadBuilder:
        self._fields["accelerators"] = count
        self._fields["requests"] = {**self._fields["requests"], GPU: count}
        return self

    def requests(self, **amounts: int) -> WorkloadBuilder:
        """Extra requests, e.g. ``cpu=8000, memory=2**34`` (Kueue units)."""
        self._fields["requests"] = {**self._fields["requests"], **amounts}
        return self

    def priority_class(self, name: str, value: int = 0) -> WorkloadBuilder:
        self._fields["priority_class"] = name
        self._fields["priority"] = value
        return self

    def flavor(self, instance_type: str) -> WorkloadBuilder:
        self._flavor = instance_type
        return self

    def event(
        self, when: str | datetime, event_type: WorkloadEventType, **fields: Any
    ) -> WorkloadBuilder:
        """Add a transition; ``fields`` override the event's fields (e.g. ``message``)."""
        self._transitions.append((at(when), event_type, fields))
        return self

    def ran(self, start: str | datetime, end: str | datetime) -> WorkloadBuilder:
        """Submitted and admitted at once at ``start``, finished at ``end``."""
        return self.event(start, "submitted").event(start, "admitted").event(end, "finished")

    def events(self) -> list[WorkloadEvent]:
        """The Workload's events, validated by the wire schema."""
        ordinals: Counter[str] = Counter()
        created = min((t for t, _, _ in self._transitions), default=DAY)
        built = []
        for when, event_type, fields in self._transitions:
            ordinals[event_type] += 1
            assigned = event_type in _ASSIGNED
            values = {
                **self._fields,
                "event_type": event_type,
                "ordinal": ordinals[event_type],
                "event_id": event_id(
                    self._fields["cluster"], self._fields["uid"], event_type, ordinals[event_type]
                ),
                "occurred_at": when,
                "observed_at": when + timedelta(seconds=1),
                "created_at": created,
                "instance_type": self._flavor if assigned else None,
                "cluster_queue": f"{self._fields['team']}-cq" if assigned else None,
                **fields,
            }
            built.append(WorkloadEvent(**values))
        return built


def make_workload(name: str) -> WorkloadBuilder:
    """A Workload of team-a requesting nothing yet; chain what differs."""
    return WorkloadBuilder(name)


class ClusterQueueBuilder:
    """A ClusterQueue's quota as the watcher reports it on each change."""

    def __init__(self, name: str) -> None:
        self._fields: dict[str, Any] = {
            "cluster": CLUSTER,
            "name": name,
            "team": name.removesuffix("-cq"),
            "cohort": "shared-pool",
        }
        self._lines: dict[tuple[str, str], QuotaLine] = {}
        self._events: list[ClusterQueueEvent] = []

    def team(self, team: str) -> ClusterQueueBuilder:
        self._fields["team"] = team
        return self

    def cohort(self, cohort: str | None) -> ClusterQueueBuilder:
        self._fields["cohort"] = cohort
        return self

    def cluster(self, cluster: str) -> ClusterQueueBuilder:
        self._fields["cluster"] = cluster
        return self

    def nominal(
        self,
        flavor: str,
        resource: str,
        amount: int,
        *,
        borrowing_limit: int | None = None,
        lending_limit: int | None = None,
    ) -> ClusterQueueBuilder:
        """Set one quota line; ``resource`` may be ``gpu`` or ``neuron`` for short."""
        resource = _RESOURCE_ALIASES.get(resource, resource)
        self._lines[(flavor, resource)] = QuotaLine(
            flavor=flavor,
            resource=resource,
            nominal=amount,
            borrowing_limit=borrowing_limit,
            lending_limit=lending_limit,
        )
        return self

    def clear(self) -> ClusterQueueBuilder:
        """Drop every quota line, to set them afresh before the next change."""
        self._lines = {}
        return self

    def changed(self, when: str | datetime) -> ClusterQueueBuilder:
        """Record the quota as it is now, as a quota_changed event at ``when``."""
        return self._record(when, "quota_changed")

    def deleted(self, when: str | datetime) -> ClusterQueueBuilder:
        """Record the ClusterQueue's deletion at ``when``."""
        self._lines = {}
        return self._record(when, "deleted")

    def events(self) -> list[ClusterQueueEvent]:
        return list(self._events)

    def _record(self, when: str | datetime, event_type: str) -> ClusterQueueBuilder:
        moment = at(when)
        version = str(len(self._events) + 1)
        self._events.append(
            ClusterQueueEvent(
                event_id=event_id(
                    self._fields["cluster"], self._fields["name"], event_type, version
                ),
                occurred_at=moment,
                observed_at=moment + timedelta(seconds=1),
                event_type=event_type,  # type: ignore[arg-type]
                resource_version=version,
                quotas=sorted(self._lines.values(), key=lambda q: (q.flavor, q.resource)),
                **self._fields,
            )
        )
        return self


def make_cluster_queue(name: str) -> ClusterQueueBuilder:
    """A ClusterQueue named ``<team>-cq`` in cohort shared-pool with no quota yet."""
    return ClusterQueueBuilder(name)
