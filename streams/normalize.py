"""Turn Kueue objects into events: validate, then derive what changed since we last looked.

Transitions are counted from the object itself (conditions plus ``schedulingStats.evictions``),
so a relist after a broken watch or a restart still yields every transition exactly once:
the n-th admission of a workload always has the same event id. Requests and quotas are read
by ``taskgov.kueue.read``, the reader the twin uses too, so both count a pod as Kueue does
(limits where nothing is requested, at least the largest init container).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams.events import (
    ClusterQueueEvent,
    QuotaLine,
    WorkloadEvent,
    WorkloadEventType,
    event_id,
)
from taskgov.errors import Fault
from taskgov.kueue.hyperpod import team_of_cluster_queue, team_of_namespace
from taskgov.kueue.objects import ClusterQueue
from taskgov.kueue.read import KUEUE_API_VERSIONS, FieldReader, read_cluster_queue, read_pod_sets

ACCELERATOR_RESOURCES = ("nvidia.com/gpu", "aws.amazon.com/neurondevice")


class MalformedObject(ValueError):
    """An object we cannot read; the message says which field and why."""


@dataclass
class WorkloadMemory:
    """What has been sent for one workload: counts per transition and the last pending reason."""

    counts: dict[str, int] = field(default_factory=dict)
    pending_digest: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts, "pending": self.pending_digest}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkloadMemory:
        return cls(dict(data.get("counts", {})), str(data.get("pending", "")))


def pending_digest(message: str) -> str:
    """Identifies a pending reason, so the same reason is not sent twice."""
    return hashlib.sha256(message.encode()).hexdigest()[:16]


def parse_time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise MalformedObject(f"{where} must be an RFC 3339 time, got {value!r}")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedObject(f"{where} must be an RFC 3339 time, got {value!r}") from None


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedObject(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedObject(f"{where} must be a list, got {type(value).__name__}")
    return value


def _read(read: Any, kind: str, obj: dict[str, Any], *args: Any) -> Any:
    """Read with ``taskgov.kueue.read`` (Kueue's semantics); its first fault is ours."""
    faults: list[Fault] = []
    result = read(FieldReader("watch", kind, faults), obj, *args)
    if faults:
        raise MalformedObject(f"{faults[0].field}: {faults[0].message}")
    return result


def _requests(spec: dict[str, Any]) -> dict[str, int]:
    """Total requests over the Workload's pod sets, as Kueue counts them."""
    totals: dict[str, int] = {}
    for pod_set in _read(read_pod_sets, "Workload", spec):
        for resource, amount in pod_set.requests.items():
            totals[resource] = totals.get(resource, 0) + amount
    return totals


@dataclass(frozen=True, slots=True)
class _Condition:
    status: str
    reason: str
    message: str
    time: datetime


def _conditions(status: dict[str, Any]) -> dict[str, _Condition]:
    found = {}
    for i, raw in enumerate(_list(status.get("conditions", []), "status.conditions")):
        raw = _mapping(raw, f"status.conditions[{i}]")
        type_, state = raw.get("type"), raw.get("status")
        if not isinstance(type_, str) or state not in ("True", "False", "Unknown"):
            raise MalformedObject(
                f"status.conditions[{i}] needs a type and a status True/False/Unknown"
            )
        when = parse_time(
            raw.get("lastTransitionTime"), f"status.conditions[{i}].lastTransitionTime"
        )
        found[type_] = _Condition(
            state, str(raw.get("reason", "")), str(raw.get("message", "")), when
        )
    return found


def _target_counts(
    conditions: dict[str, _Condition], status: dict[str, Any]
) -> dict[WorkloadEventType, int]:
    """How many of each transition the object shows, from conditions and eviction counts."""
    evictions = preempted = 0
    stats = _mapping(status.get("schedulingStats", {}), "status.schedulingStats")
    for i, item in enumerate(_list(stats.get("evictions", []), "status.schedulingStats.evictions")):
        count = _mapping(item, f"status.schedulingStats.evictions[{i}]").get("count", 0)
        if not isinstance(count, int):
            raise MalformedObject(f"status.schedulingStats.evictions[{i}].count must be an integer")
        evictions += count
        preempted += count if item.get("reason") == "Preempted" else 0

    def true(type_: str) -> bool:
        return type_ in conditions and conditions[type_].status == "True"

    # An evicted workload that still holds quota has not been released (requeued) yet.
    unreleased = 1 if true("Evicted") and true("QuotaReserved") else 0
    holding = 1 if true("QuotaReserved") and not true("Evicted") else 0
    return {
        "submitted": 1,
        "quota_reserved": evictions + holding,
        "admitted": evictions + (1 if true("Admitted") and not true("Evicted") else 0),
        "evicted": evictions,
        "preempted": preempted,
        "requeued": evictions - unreleased,
        "finished": 1 if true("Finished") else 0,
    }


_CONDITION_OF = {
    "quota_reserved": "QuotaReserved",
    "admitted": "Admitted",
    "evicted": "Evicted",
    "preempted": "Preempted",
    "requeued": "Requeued",
    "finished": "Finished",
}


def normalize_workload(
    obj: Any, cluster: str, observed_at: datetime, memory: WorkloadMemory, deleted: bool = False
) -> list[WorkloadEvent]:
    """The events ``obj`` implies beyond those ``memory`` says were sent; updates ``memory``.

    Raises:
        MalformedObject: the object is not a Workload we can read.
    """
    obj = _mapping(obj, "object")
    if obj.get("apiVersion") not in KUEUE_API_VERSIONS:
        raise MalformedObject(
            f"apiVersion {obj.get('apiVersion')!r} is not one of {', '.join(KUEUE_API_VERSIONS)}"
        )
    metadata = _mapping(obj.get("metadata"), "metadata")
    for key in ("name", "namespace", "uid"):
        if not isinstance(metadata.get(key), str) or not metadata.get(key):
            raise MalformedObject(f"metadata.{key} is missing")
    spec = _mapping(obj.get("spec"), "spec")
    status = _mapping(obj.get("status", {}) or {}, "status")
    base = _workload_fields(metadata, spec, status, cluster, observed_at)
    conditions = _conditions(status)
    targets = _target_counts(conditions, status)
    if deleted:
        targets["deleted"] = 1
    events = _transitions(targets, conditions, memory, base)
    reserved = conditions.get("QuotaReserved")
    if reserved and reserved.status == "False" and not deleted:
        pending = _pending(reserved, memory, base)
        if pending is not None:
            events.append(pending)
    return events


def _workload_fields(
    metadata: dict[str, Any],
    spec: dict[str, Any],
    status: dict[str, Any],
    cluster: str,
    observed_at: datetime,
) -> dict[str, Any]:
    """What every event of the Workload states about it."""
    created = parse_time(metadata.get("creationTimestamp"), "metadata.creationTimestamp")
    requests = _requests(spec)
    admission = _mapping(status.get("admission", {}) or {}, "status.admission")
    instance_type = None
    for assignment in _list(
        admission.get("podSetAssignments", []), "status.admission.podSetAssignments"
    ):
        flavors = _mapping(assignment, "podSetAssignment").get("flavors") or {}
        instance_type = instance_type or next(
            (flavors[r] for r in ACCELERATOR_RESOURCES if r in flavors), None
        )
    priority = spec.get("priority", 0)
    return {
        "cluster": cluster,
        "observed_at": observed_at,
        "namespace": metadata["namespace"],
        "name": metadata["name"],
        "uid": metadata["uid"],
        "team": team_of_namespace(metadata["namespace"]),
        "local_queue": str(spec.get("queueName", "")),
        "cluster_queue": admission.get("clusterQueue"),
        "priority": priority if isinstance(priority, int) else 0,
        "priority_class": spec.get("priorityClassName"),
        "instance_type": instance_type,
        "requests": requests,
        "accelerators": sum(requests.get(r, 0) for r in ACCELERATOR_RESOURCES),
        "created_at": created,
    }


def _transitions(
    targets: dict[WorkloadEventType, int],
    conditions: dict[str, _Condition],
    memory: WorkloadMemory,
    base: dict[str, Any],
) -> list[WorkloadEvent]:
    """One event per transition the object shows beyond those already sent; the latest of a
    kind takes its time, reason and message from its condition, earlier ones are inferred."""
    events = []
    for event_type, target in targets.items():
        sent = memory.counts.get(event_type, 0)
        condition = conditions.get(_CONDITION_OF.get(event_type, ""))
        if condition is not None and condition.status != "True":
            condition = None  # it says the transition was undone, not when it happened
        for ordinal in range(sent + 1, target + 1):
            told = condition if ordinal == target else None
            when = told.time if told else base["observed_at"]
            events.append(
                WorkloadEvent(
                    event_id=event_id(base["cluster"], base["uid"], event_type, ordinal),
                    event_type=event_type,
                    ordinal=ordinal,
                    inferred=event_type not in ("submitted", "deleted") and not told,
                    occurred_at=base["created_at"] if event_type == "submitted" else when,
                    reason=told.reason if told else None,
                    message=told.message if told else None,
                    preemptor_uid=_preemptor_uid(told.message)
                    if told and event_type in ("evicted", "preempted")
                    else None,
                    **base,
                )
            )
        memory.counts[event_type] = max(sent, target)
    return events


def _pending(
    reserved: _Condition, memory: WorkloadMemory, base: dict[str, Any]
) -> WorkloadEvent | None:
    """A pending event when Kueue gives a reason not sent before (None: already sent)."""
    digest = pending_digest(reserved.message)
    if digest == memory.pending_digest:
        return None
    memory.pending_digest = digest
    ordinal = memory.counts.get("pending", 0) + 1
    memory.counts["pending"] = ordinal
    return WorkloadEvent(
        event_id=event_id(base["cluster"], base["uid"], "pending", f"{ordinal}:{digest}"),
        event_type="pending",
        ordinal=ordinal,
        occurred_at=reserved.time,
        reason=reserved.reason,
        message=reserved.message,
        **base,
    )


def _preemptor_uid(message: str) -> str | None:
    marker = "(UID: "
    if marker not in message:
        return None
    return message.split(marker, 1)[1].split(",", 1)[0].split(")", 1)[0]


def normalize_cluster_queue(
    obj: Any, cluster: str, observed_at: datetime, deleted: bool = False
) -> ClusterQueueEvent:
    """A ClusterQueue's quota as an event whose id changes only when the quota does.

    Raises:
        MalformedObject: the object is not a ClusterQueue we can read.
    """
    obj = _mapping(obj, "object")
    metadata = _mapping(obj.get("metadata"), "metadata")
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise MalformedObject("metadata.name is missing")
    spec = _mapping(obj.get("spec", {}), "spec")
    queue: ClusterQueue = _read(read_cluster_queue, "ClusterQueue", {"spec": spec}, name)
    lines = [
        QuotaLine(
            flavor=flavor.name,
            resource=resource,
            nominal=quota.nominal,
            borrowing_limit=quota.borrowing_limit,
            lending_limit=quota.lending_limit,
        )
        for group in queue.resource_groups
        for flavor in group.flavors
        for resource, quota in flavor.resources.items()
    ]
    cohort = queue.cohort
    digest = hashlib.sha256(
        json.dumps([cohort, [q.model_dump() for q in lines], deleted]).encode()
    ).hexdigest()[:16]
    team = team_of_cluster_queue(name)
    return ClusterQueueEvent(
        event_id=event_id(cluster, name, "deleted" if deleted else "quota_changed", digest),
        event_type="deleted" if deleted else "quota_changed",
        cluster=cluster,
        name=name,
        team=team,
        cohort=cohort,
        resource_version=str(metadata.get("resourceVersion", "")),
        quotas=lines,
        occurred_at=parse_time(
            metadata.get("creationTimestamp", observed_at.isoformat()), "metadata.creationTimestamp"
        )
        if not deleted
        else observed_at,
        observed_at=observed_at,
    )
