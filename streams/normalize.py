"""Turn Kueue objects into events: validate, then derive what changed since we last looked.

Transitions are counted from the object itself (conditions plus ``schedulingStats.evictions``),
so a relist after a broken watch or a restart still yields every transition exactly once:
the n-th admission of a workload always has the same event id.
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
from taskgov.kueue.quantity import QuantityError, to_amount

KUEUE_API_VERSIONS = ("kueue.x-k8s.io/v1beta1", "kueue.x-k8s.io/v1beta2")
ACCELERATOR_RESOURCES = ("nvidia.com/gpu", "aws.amazon.com/neurondevice")
TEAM_PREFIX = "hyperpod-ns-"


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


def team_of(namespace: str) -> str:
    """Team ``t`` lives in namespace ``hyperpod-ns-t``; elsewhere the namespace is the team."""
    return namespace.removeprefix(TEAM_PREFIX) if namespace.startswith(TEAM_PREFIX) else namespace


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


def _requests(spec: dict[str, Any]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for p, pod_set in enumerate(_list(spec.get("podSets"), "spec.podSets")):
        where = f"spec.podSets[{p}]"
        pod_set = _mapping(pod_set, where)
        count = pod_set.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise MalformedObject(f"{where}.count must be a non-negative integer, got {count!r}")
        template = _mapping(pod_set.get("template", {}), f"{where}.template")
        pod_spec = _mapping(template.get("spec", {}), f"{where}.template.spec")
        for c, container in enumerate(
            _list(pod_spec.get("containers", []), f"{where}.template.spec.containers")
        ):
            resources = _mapping(
                _mapping(container, f"{where}.containers[{c}]").get("resources", {}), "resources"
            )
            for resource, value in (resources.get("requests") or {}).items():
                try:
                    amount = to_amount(resource, value)
                except QuantityError as error:
                    raise MalformedObject(
                        f"{where}.containers[{c}].resources.requests.{resource}: {error}"
                    ) from None
                totals[resource] = totals.get(resource, 0) + amount * count
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
    created = parse_time(metadata.get("creationTimestamp"), "metadata.creationTimestamp")
    spec = _mapping(obj.get("spec"), "spec")
    requests = _requests(spec)
    status = _mapping(obj.get("status", {}) or {}, "status")
    conditions = _conditions(status)
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
    base = {
        "cluster": cluster,
        "observed_at": observed_at,
        "namespace": metadata["namespace"],
        "name": metadata["name"],
        "uid": metadata["uid"],
        "team": team_of(metadata["namespace"]),
        "local_queue": str(spec.get("queueName", "")),
        "cluster_queue": admission.get("clusterQueue"),
        "priority": priority if isinstance(priority, int) else 0,
        "priority_class": spec.get("priorityClassName"),
        "instance_type": instance_type,
        "requests": requests,
        "accelerators": sum(requests.get(r, 0) for r in ACCELERATOR_RESOURCES),
        "created_at": created,
    }
    targets = _target_counts(conditions, status)
    if deleted:
        targets["deleted"] = 1
    events = []
    for event_type, target in targets.items():
        sent = memory.counts.get(event_type, 0)
        condition = conditions.get(_CONDITION_OF.get(event_type, ""))
        if condition is not None and condition.status != "True":
            condition = None  # it says the transition was undone, not when it happened
        for ordinal in range(sent + 1, target + 1):
            latest = ordinal == target
            when = (
                created
                if event_type == "submitted"
                else (condition.time if condition and latest else observed_at)
            )
            events.append(
                WorkloadEvent(
                    event_id=event_id(cluster, metadata["uid"], event_type, ordinal),
                    event_type=event_type,
                    ordinal=ordinal,
                    inferred=event_type not in ("submitted", "deleted")
                    and not (latest and condition),
                    occurred_at=when,
                    reason=condition.reason if condition and latest else None,
                    message=condition.message if condition and latest else None,
                    preemptor_uid=_preemptor_uid(condition.message)
                    if condition and latest and event_type in ("evicted", "preempted")
                    else None,
                    **base,
                )
            )
        memory.counts[event_type] = max(sent, target)
    reserved = conditions.get("QuotaReserved")
    if reserved and reserved.status == "False" and not deleted:
        digest = pending_digest(reserved.message)
        if digest != memory.pending_digest:
            memory.pending_digest = digest
            ordinal = memory.counts.get("pending", 0) + 1
            memory.counts["pending"] = ordinal
            events.append(
                WorkloadEvent(
                    event_id=event_id(cluster, metadata["uid"], "pending", f"{ordinal}:{digest}"),
                    event_type="pending",
                    ordinal=ordinal,
                    occurred_at=reserved.time,
                    reason=reserved.reason,
                    message=reserved.message,
                    **base,
                )
            )
    return events


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
    lines = []
    for g, group in enumerate(_list(spec.get("resourceGroups", []), "spec.resourceGroups")):
        for flavor in _list(
            _mapping(group, f"spec.resourceGroups[{g}]").get("flavors", []), "flavors"
        ):
            flavor = _mapping(flavor, "flavor")
            for quota in _list(flavor.get("resources", []), "resources"):
                quota = _mapping(quota, "resource")
                resource = str(quota.get("name"))
                try:
                    limits = {
                        k: None if quota.get(k) is None else to_amount(resource, quota[k])
                        for k in ("nominalQuota", "borrowingLimit", "lendingLimit")
                    }
                except QuantityError as error:
                    raise MalformedObject(f"spec.resourceGroups[{g}]: {error}") from None
                lines.append(
                    QuotaLine(
                        flavor=str(flavor.get("name")),
                        resource=resource,
                        nominal=limits["nominalQuota"] or 0,
                        borrowing_limit=limits["borrowingLimit"],
                        lending_limit=limits["lendingLimit"],
                    )
                )
    cohort = spec.get("cohort") or spec.get("cohortName")
    digest = hashlib.sha256(
        json.dumps([cohort, [q.model_dump() for q in lines], deleted]).encode()
    ).hexdigest()[:16]
    team = (
        name.removeprefix(TEAM_PREFIX).removesuffix("-clusterqueue")
        if name.startswith(TEAM_PREFIX)
        else name
    )
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
