"""The one reader of Kueue manifests, used by the watcher and the twin alike.

Reads ResourceFlavors, ClusterQueues, Cohorts, LocalQueues, WorkloadPriorityClasses and
Workloads (as dicts, the way the Kubernetes API and YAML files give them) into the typed
objects of :mod:`taskgov.kueue.objects`, with Kueue's semantics:

- a pod's requests are the sum over its containers, each falling back to its limits where it
  requests nothing (as the API server defaults requests from limits), and at least the largest
  init container's requests (Kueue's ``pkg/util/limitrange.TotalRequests``);
- a pod set's requests are the pod's times ``count``;
- ``fairSharing.weight`` is a quantity (``0.5``, ``500m``);
- ``whenCanBorrow``/``whenCanPreempt`` ``MayStopSearch`` mean the v1beta1 ``Borrow``/``Preempt``.

Faults are collected with their field path (``spec.podSets[0].count``) rather than raised, so
a scenario file reports all of them at once; the watcher turns the first into a dead letter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskgov.errors import Fault
from taskgov.kueue.objects import (
    Admission,
    ClusterQueue,
    Cohort,
    FlavorQuotas,
    FungibilityPreference,
    LocalQueue,
    PodSet,
    Preemption,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuota,
    Workload,
)
from taskgov.kueue.quantity import QuantityError, to_amount
from taskgov.kueue.schemas.checks import TYPE_NAMES

KUEUE_API_VERSIONS = ("kueue.x-k8s.io/v1beta1", "kueue.x-k8s.io/v1beta2")
_PREEMPTION_CHOICES = {
    "withinClusterQueue": ("Never", "LowerPriority", "LowerOrNewerEqualPriority"),
    "reclaimWithinCohort": ("Never", "LowerPriority", "Any"),
}


class FieldReader:
    """Typed access to one object's fields, collecting faults instead of raising.

    Args:
        document: where the object came from (``file.yaml#3``, ``watch``).
        subject: the object, e.g. ``Workload team-a/job-1``.
        faults: the list faults are added to (shared by the readers of one file).
    """

    def __init__(self, document: str, subject: str, faults: list[Fault]) -> None:
        self.document = document
        self.subject = subject
        self.faults = faults

    def fault(self, path: str, message: str) -> None:
        """Record that the field at ``path`` is wrong."""
        self.faults.append(Fault(self.document, self.subject, path, message))

    def get(
        self,
        obj: Any,
        path: str,
        kind: type | tuple[type, ...],
        default: Any = None,
        *,
        at: str = "",
    ) -> Any:
        """The value at dotted ``path`` of ``obj`` if it is a ``kind``; ``default`` when absent
        or null; a fault and ``default`` when it is of another type. ``at`` is where ``obj``
        is in the object (``spec.podSets[0]``), for the fault's field."""
        value: Any = obj
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return default
            value = value[part]
        if value is None:
            return default
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(TYPE_NAMES.get(k, k.__name__) for k in kinds)
            self.fault(_joined(at, path), f"must be {names}, got {type(value).__name__}")
            return default
        return value

    def required(self, obj: Any, path: str, kind: type | tuple[type, ...], *, at: str = "") -> Any:
        """As :meth:`get`, with a fault when the field is absent."""
        value = self.get(obj, path, kind, at=at)
        field = _joined(at, path)
        if value is None and not any(
            f.field == field and f.subject == self.subject for f in self.faults
        ):
            self.fault(field, "is required")
        return value

    def amount(self, resource: str, value: Any, path: str) -> int:
        """A quantity as Kueue's integer for ``resource`` (a fault and 0 when it is none)."""
        try:
            amount = to_amount(resource, value)
        except QuantityError as error:
            self.fault(path, str(error))
            return 0
        if amount < 0:
            self.fault(path, f"must not be negative, got {value!r}")
            return 0
        return amount


def _joined(at: str, path: str) -> str:
    return f"{at}.{path}" if at else path


def subject_of(kind: str, body: Any) -> str:
    """``Kind namespace/name`` (or ``Kind name``) of a manifest, for fault messages."""
    metadata = body.get("metadata") if isinstance(body, Mapping) else None
    if not isinstance(metadata, Mapping):
        return kind
    namespace, name = metadata.get("namespace"), metadata.get("name", "")
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}".strip()


def read_resource_groups(reader: FieldReader, spec: Mapping[str, Any]) -> tuple[ResourceGroup, ...]:
    """``spec.resourceGroups`` of a ClusterQueue or Cohort."""
    groups = []
    for g, group in enumerate(reader.get(spec, "resourceGroups", list, [], at="spec")):
        path = f"spec.resourceGroups[{g}]"
        covered = tuple(str(r) for r in reader.get(group, "coveredResources", list, [], at=path))
        flavors = []
        for f, flavor in enumerate(reader.get(group, "flavors", list, [], at=path)):
            name = reader.required(flavor, "name", str, at=f"{path}.flavors[{f}]") or ""
            resources = {}
            for r, quota in enumerate(
                reader.get(flavor, "resources", list, [], at=f"{path}.flavors[{f}]")
            ):
                resource, line = _quota(reader, quota, f"{path}.flavors[{f}].resources[{r}]")
                if resource not in covered:
                    reader.fault(
                        f"{path}.flavors[{f}].resources[{r}].name",
                        f"{resource!r} is not in coveredResources",
                    )
                resources[resource] = line
            flavors.append(FlavorQuotas(name, resources))
        groups.append(ResourceGroup(covered, tuple(flavors)))
    return tuple(groups)


def _quota(reader: FieldReader, quota: Any, path: str) -> tuple[str, ResourceQuota]:
    resource = str(reader.get(quota, "name", str, "", at=path))
    raw = quota if isinstance(quota, Mapping) else {}
    limits = {
        key: None if raw.get(key) is None else reader.amount(resource, raw[key], f"{path}.{key}")
        for key in ("borrowingLimit", "lendingLimit")
    }
    nominal = reader.amount(resource, raw.get("nominalQuota", 0), f"{path}.nominalQuota")
    return resource, ResourceQuota(nominal, limits["borrowingLimit"], limits["lendingLimit"])


def read_fair_sharing_weight(reader: FieldReader, spec: Mapping[str, Any]) -> float:
    """``spec.fairSharing.weight`` (default 1)."""
    raw = reader.get(spec, "fairSharing.weight", (str, int, float), 1, at="spec")
    try:
        return float(to_amount("cpu", raw)) / 1000
    except QuantityError as error:
        reader.fault("spec.fairSharing.weight", str(error))
        return 1.0


def read_cluster_queue(reader: FieldReader, body: Mapping[str, Any], name: str) -> ClusterQueue:
    """A ClusterQueue manifest."""
    spec = reader.get(body, "spec", dict, {})
    preemption = reader.get(spec, "preemption", dict, {}, at="spec")
    borrow = reader.get(preemption, "borrowWithinCohort", dict, {}, at="spec.preemption")
    fungibility = reader.get(spec, "flavorFungibility", dict, {}, at="spec")
    cohort = reader.get(spec, "cohort", str, at="spec") or reader.get(
        spec, "cohortName", str, at="spec"
    )
    strategy = reader.get(spec, "queueingStrategy", str, "BestEffortFIFO", at="spec")
    if strategy not in ("StrictFIFO", "BestEffortFIFO"):
        reader.fault(
            "spec.queueingStrategy", f"must be StrictFIFO or BestEffortFIFO, got {strategy!r}"
        )
    for key, allowed in _PREEMPTION_CHOICES.items():
        value = preemption.get(key, "Never")
        if value not in allowed:
            reader.fault(
                f"spec.preemption.{key}", f"must be one of {', '.join(allowed)}, got {value!r}"
            )
    when_can_borrow = fungibility.get("whenCanBorrow", "Borrow")
    when_can_preempt = fungibility.get("whenCanPreempt", "TryNextFlavor")
    preference = fungibility.get("preference")
    if preference is not None and preference not in set(FungibilityPreference):
        preferences = ", ".join(FungibilityPreference)
        reader.fault(
            "spec.flavorFungibility.preference", f"must be one of {preferences}, got {preference!r}"
        )
        preference = None
    return ClusterQueue(
        name=name,
        cohort=cohort or None,
        resource_groups=read_resource_groups(reader, spec),
        queueing_strategy=strategy,
        preemption=Preemption(
            within_cluster_queue=preemption.get("withinClusterQueue", "Never"),
            reclaim_within_cohort=preemption.get("reclaimWithinCohort", "Never"),
            borrow_within_cohort=borrow.get("policy", "Never"),
            max_priority_threshold=borrow.get("maxPriorityThreshold"),
        ),
        when_can_borrow="Borrow" if when_can_borrow == "MayStopSearch" else when_can_borrow,
        when_can_preempt="Preempt" if when_can_preempt == "MayStopSearch" else when_can_preempt,
        fungibility_preference=FungibilityPreference(preference) if preference else None,
        fair_sharing_weight=read_fair_sharing_weight(reader, spec),
        stopped=spec.get("stopPolicy", "None") not in ("None", None),
    )


def read_cohort(reader: FieldReader, body: Mapping[str, Any], name: str) -> Cohort:
    """A Cohort manifest (``spec.parent`` or v1beta2's ``parentName``)."""
    spec = reader.get(body, "spec", dict, {})
    parent = reader.get(spec, "parent", str, at="spec") or reader.get(
        spec, "parentName", str, at="spec"
    )
    groups = read_resource_groups(reader, spec)
    return Cohort(name, parent, groups, read_fair_sharing_weight(reader, spec))


def read_resource_flavor(reader: FieldReader, body: Mapping[str, Any], name: str) -> ResourceFlavor:
    """A ResourceFlavor manifest."""
    return ResourceFlavor(name, dict(reader.get(body, "spec.nodeLabels", dict, {})))


def read_local_queue(reader: FieldReader, body: Mapping[str, Any], name: str) -> LocalQueue:
    """A LocalQueue manifest (namespace ``default`` when none is given)."""
    namespace = str(reader.get(body, "metadata.namespace", str, "default"))
    cluster_queue = reader.required(body, "spec.clusterQueue", str) or ""
    return LocalQueue(namespace, name, cluster_queue)


def pod_requests(reader: FieldReader, template: Mapping[str, Any], path: str) -> dict[str, int]:
    """One pod's requests: its containers' (limits where they request nothing), summed, and
    at least each init container's requests."""
    pod_spec = reader.get(template, "spec", dict, {}, at=path)
    totals: dict[str, int] = {}
    containers = reader.get(pod_spec, "containers", list, [], at=f"{path}.spec")
    if not containers:
        reader.fault(f"{path}.spec.containers", "is required")
    for c, container in enumerate(containers):
        resources = reader.get(container, "resources", dict, {}, at=f"{path}.spec.containers[{c}]")
        requests = dict(resources.get("limits") or {}) | dict(resources.get("requests") or {})
        for resource, value in requests.items():
            where = f"{path}.spec.containers[{c}].resources.requests.{resource}"
            totals[resource] = totals.get(resource, 0) + reader.amount(resource, value, where)
    init_containers = reader.get(pod_spec, "initContainers", list, [], at=f"{path}.spec")
    for i, container in enumerate(init_containers):
        where = f"{path}.spec.initContainers[{i}]"
        resources = reader.get(container, "resources", dict, {}, at=where)
        for resource, value in (resources.get("requests") or {}).items():
            amount = reader.amount(resource, value, f"{where}.resources.requests.{resource}")
            totals[resource] = max(totals.get(resource, 0), amount)
    return totals


def read_pod_set(
    reader: FieldReader, name: str, count: int, template: Mapping[str, Any], path: str
) -> PodSet:
    """A pod set of ``count`` pods like ``template``, with its total requests."""
    per_pod = pod_requests(reader, template, f"{path}.template")
    node_selector = reader.get(template, "spec.nodeSelector", dict, {}, at=f"{path}.template")
    if count < 0:
        reader.fault(f"{path}.count", f"must not be negative, got {count}")
    totals = {r: a * count for r, a in per_pod.items() if a * count}
    return PodSet(name, count, totals, dict(node_selector))


def read_pod_sets(reader: FieldReader, spec: Mapping[str, Any]) -> tuple[PodSet, ...]:
    """``spec.podSets`` of a Workload (at least one)."""
    pod_sets = []
    for p, raw in enumerate(reader.required(spec, "podSets", list, at="spec") or []):
        path = f"spec.podSets[{p}]"
        if not isinstance(raw, Mapping):
            reader.fault(path, "must be a mapping")
            continue
        count = reader.get(raw, "count", int, 1, at=path)
        template = reader.get(raw, "template", dict, {}, at=path)
        pod_sets.append(read_pod_set(reader, str(raw.get("name", "main")), count, template, path))
    return tuple(pod_sets)


def read_workload(reader: FieldReader, body: Mapping[str, Any]) -> Workload:
    """A Workload manifest: its queue, priority, pod sets and admission."""
    metadata = reader.get(body, "metadata", dict, {})
    name = reader.required(metadata, "name", str, at="metadata") or ""
    namespace = reader.get(metadata, "namespace", str, "default", at="metadata")
    spec = reader.get(body, "spec", dict, {})
    queue_name = reader.required(spec, "queueName", str, at="spec") or ""
    class_name = reader.get(spec, "priorityClassName", str, at="spec") or reader.get(
        spec, "priorityClassRef.name", str, at="spec"
    )
    priority = reader.get(spec, "priority", int, at="spec")
    pod_sets = read_pod_sets(reader, spec)
    return Workload(
        namespace=namespace,
        name=name,
        uid=reader.get(metadata, "uid", str, at="metadata"),
        queue_name=queue_name,
        priority=priority,
        priority_class=class_name,
        pod_sets=pod_sets,
        labels=dict(reader.get(metadata, "labels", dict, {}, at="metadata")),
        annotations=dict(reader.get(metadata, "annotations", dict, {}, at="metadata")),
        admission=_admission(reader, body),
    )


def _admission(reader: FieldReader, body: Mapping[str, Any]) -> Admission | None:
    admission = reader.get(body, "status.admission", dict)
    if not admission:
        return None
    flavors = {
        str(a.get("name", "main")): dict(a.get("flavors") or {})
        for a in reader.get(admission, "podSetAssignments", list, [], at="status.admission")
        if isinstance(a, Mapping)
    }
    cluster_queue = reader.required(admission, "clusterQueue", str, at="status.admission")
    return Admission(cluster_queue or "", flavors)
