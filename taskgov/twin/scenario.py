"""Read a scenario file: Kueue objects, Workloads and Jobs, a Policy, and a Scenario document.

Every fault names the document index, the object's kind and name, and the field.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from taskgov.errors import Fault, InputError
from taskgov.kueue.quantity import QuantityError, to_amount
from taskgov.policy.compile import compile_policy
from taskgov.policy.load import Document, policy_and_cluster
from taskgov.twin.durations import parse_duration_ms
from taskgov.twin.objects import (
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
    WorkloadSpec,
)
from taskgov.twin.scenario_checks import scenario_faults

KUEUE_VERSIONS = ("kueue.x-k8s.io/v1beta1", "kueue.x-k8s.io/v1beta2")
SUBMIT_AT = "taskgov.io/submit-at"
RUN_FOR = "taskgov.io/run-for"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
JOB_UID_LABEL = "kueue.x-k8s.io/job-uid"
STRATEGIES = ("LessThanOrEqualToFinalShare", "LessThanInitialShare")


@dataclass
class Scenario:
    """Everything the simulator needs, validated."""

    flavors: dict[str, ResourceFlavor] = field(default_factory=dict)
    cluster_queues: dict[str, ClusterQueue] = field(default_factory=dict)
    cohorts: dict[str, Cohort] = field(default_factory=dict)
    local_queues: dict[tuple[str, str], LocalQueue] = field(default_factory=dict)
    priority_classes: dict[str, int] = field(default_factory=dict)
    workloads: list[WorkloadSpec] = field(default_factory=list)
    fair_sharing: bool = False
    preemption_strategies: tuple[str, ...] = STRATEGIES
    until_ms: int | None = None
    # The Kueue objects other than Workloads, as given, for the API server to serve.
    manifests: list[dict[str, Any]] = field(default_factory=list)
    # Where each object came from ("file#index"), keyed by "Kind name", for error messages.
    sources: dict[str, str] = field(default_factory=dict)


class _Reader:
    """Typed access to one object's fields, collecting faults instead of raising."""

    def __init__(self, doc: Document, faults: list[Fault]) -> None:
        self.doc = doc
        self.faults = faults
        body = doc.body if isinstance(doc.body, Mapping) else {}
        self.subject = f"{doc.kind or 'object'} {self._name(body)}".strip()

    @staticmethod
    def _name(body: Mapping[str, Any]) -> str:
        metadata = body.get("metadata")
        if not isinstance(metadata, Mapping):
            return ""
        namespace = metadata.get("namespace")
        return (
            f"{namespace}/{metadata.get('name', '')}"
            if namespace
            else str(metadata.get("name", ""))
        )

    def fault(self, path: str, message: str) -> None:
        self.faults.append(
            Fault(f"{self.doc.source}#{self.doc.index}", self.subject, path, message)
        )

    def get(self, obj: Any, path: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        value: Any = obj
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return default
            value = value[part]
        if value is None:
            return default
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            self.fault(path, f"must be {_kind_name(kind)}, got {type(value).__name__}")
            return default
        return value

    def required(self, obj: Any, path: str, kind: type | tuple[type, ...]) -> Any:
        value = self.get(obj, path, kind)
        if value is None and not any(
            f.field == path and f.subject == self.subject for f in self.faults
        ):
            self.fault(path, "is required")
        return value

    def amount(self, resource: str, value: Any, path: str) -> int:
        try:
            amount = to_amount(resource, value)
        except QuantityError as error:
            self.fault(path, str(error))
            return 0
        if amount < 0:
            self.fault(path, f"must not be negative, got {value!r}")
            return 0
        return amount

    def duration(self, value: Any, path: str) -> int | None:
        try:
            return parse_duration_ms(str(value))
        except ValueError as error:
            self.fault(path, str(error))
            return None


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
    }
    return " or ".join(names.get(k, k.__name__) for k in _as_tuple(kind))


def _resource_groups(reader: _Reader, spec: Mapping[str, Any]) -> tuple[ResourceGroup, ...]:
    groups = []
    for g, group in enumerate(reader.get(spec, "resourceGroups", list, [])):
        path = f"spec.resourceGroups[{g}]"
        covered = tuple(str(r) for r in reader.get(group, "coveredResources", list, []))
        flavors = []
        for f, flavor in enumerate(reader.get(group, "flavors", list, [])):
            name = reader.required(flavor, "name", str) or ""
            resources = {}
            for r, quota in enumerate(reader.get(flavor, "resources", list, [])):
                rpath = f"{path}.flavors[{f}].resources[{r}]"
                resource = str(reader.get(quota, "name", str, ""))
                if resource not in covered:
                    reader.fault(f"{rpath}.name", f"{resource!r} is not in coveredResources")
                limits = {}
                for key in ("borrowingLimit", "lendingLimit"):
                    raw = quota.get(key) if isinstance(quota, Mapping) else None
                    limits[key] = (
                        None if raw is None else reader.amount(resource, raw, f"{rpath}.{key}")
                    )
                resources[resource] = ResourceQuota(
                    nominal=reader.amount(
                        resource, quota.get("nominalQuota", 0), f"{rpath}.nominalQuota"
                    ),
                    borrowing_limit=limits["borrowingLimit"],
                    lending_limit=limits["lendingLimit"],
                )
            flavors.append(FlavorQuotas(name, resources))
        groups.append(ResourceGroup(covered, tuple(flavors)))
    return tuple(groups)


def _weight(reader: _Reader, spec: Mapping[str, Any]) -> float:
    raw = reader.get(spec, "fairSharing.weight", (str, int, float), 1)
    try:
        return float(to_amount("cpu", raw)) / 1000
    except QuantityError as error:
        reader.fault("spec.fairSharing.weight", str(error))
        return 1.0


def _cluster_queue(reader: _Reader, body: Mapping[str, Any], name: str) -> ClusterQueue:
    spec = reader.get(body, "spec", dict, {})
    preemption = reader.get(spec, "preemption", dict, {})
    borrow = reader.get(preemption, "borrowWithinCohort", dict, {})
    fungibility = reader.get(spec, "flavorFungibility", dict, {})
    cohort = reader.get(spec, "cohort", str) or reader.get(spec, "cohortName", str)
    strategy = reader.get(spec, "queueingStrategy", str, "BestEffortFIFO")
    if strategy not in ("StrictFIFO", "BestEffortFIFO"):
        reader.fault(
            "spec.queueingStrategy", f"must be StrictFIFO or BestEffortFIFO, got {strategy!r}"
        )
    choices = {
        "withinClusterQueue": ("Never", "LowerPriority", "LowerOrNewerEqualPriority"),
        "reclaimWithinCohort": ("Never", "LowerPriority", "Any"),
    }
    for key, allowed in choices.items():
        value = preemption.get(key, "Never")
        if value not in allowed:
            reader.fault(
                f"spec.preemption.{key}", f"must be one of {', '.join(allowed)}, got {value!r}"
            )
    when_can_borrow = {"MayStopSearch": "Borrow"}.get(
        fungibility.get("whenCanBorrow", "Borrow"), fungibility.get("whenCanBorrow", "Borrow")
    )
    when_can_preempt = {"MayStopSearch": "Preempt"}.get(
        fungibility.get("whenCanPreempt", "TryNextFlavor"),
        fungibility.get("whenCanPreempt", "TryNextFlavor"),
    )
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
        resource_groups=_resource_groups(reader, spec),
        queueing_strategy=strategy,
        preemption=Preemption(
            within_cluster_queue=preemption.get("withinClusterQueue", "Never"),
            reclaim_within_cohort=preemption.get("reclaimWithinCohort", "Never"),
            borrow_within_cohort=borrow.get("policy", "Never"),
            max_priority_threshold=borrow.get("maxPriorityThreshold"),
        ),
        when_can_borrow=when_can_borrow,
        when_can_preempt=when_can_preempt,
        fungibility_preference=FungibilityPreference(preference) if preference else None,
        fair_sharing_weight=_weight(reader, spec),
        stopped=spec.get("stopPolicy", "None") not in ("None", None),
    )


def _pod_requests(reader: _Reader, template: Mapping[str, Any], path: str) -> dict[str, int]:
    """Per-pod requests: sum of containers, at least the largest init container."""
    pod_spec = reader.get(template, "spec", dict, {})
    totals: dict[str, int] = {}
    containers = reader.get(pod_spec, "containers", list, [])
    if not containers:
        reader.fault(f"{path}.spec.containers", "is required")
    for c, container in enumerate(containers):
        resources = container.get("resources", {}) if isinstance(container, Mapping) else {}
        requests = dict(resources.get("limits") or {}) | dict(resources.get("requests") or {})
        for resource, value in requests.items():
            amount = reader.amount(
                resource, value, f"{path}.spec.containers[{c}].resources.requests.{resource}"
            )
            totals[resource] = totals.get(resource, 0) + amount
    for i, container in enumerate(reader.get(pod_spec, "initContainers", list, [])):
        resources = container.get("resources", {}) if isinstance(container, Mapping) else {}
        for resource, value in (resources.get("requests") or {}).items():
            amount = reader.amount(
                resource, value, f"{path}.spec.initContainers[{i}].resources.requests.{resource}"
            )
            totals[resource] = max(totals.get(resource, 0), amount)
    return totals


def _pod_set(
    reader: _Reader, name: str, count: int, template: Mapping[str, Any], path: str
) -> PodSet:
    per_pod = _pod_requests(reader, template, f"{path}.template")
    node_selector = reader.get(template, "spec.nodeSelector", dict, {})
    if count < 0:
        reader.fault(f"{path}.count", f"must not be negative, got {count}")
    return PodSet(
        name, count, {r: a * count for r, a in per_pod.items() if a * count}, dict(node_selector)
    )


def stable_uid(*parts: str) -> str:
    """A deterministic UID, so the same scenario always prints the same output."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "taskgov-twin/" + "/".join(parts)))


def workload_name_for_job(kind: str, group: str, name: str, uid: str) -> str:
    """Kueue's ``GetWorkloadNameForOwnerWithGVK``: lower(kind)-name-<5 hex of sha1>."""
    digest = hashlib.sha1(
        f"{kind}\n{group}\n{name}\n{uid}".encode(), usedforsecurity=False
    ).hexdigest()
    prefix = f"{kind.lower()}-{name}"[: 253 - 6]
    return f"{prefix}-{digest[:5]}"


def _timing(reader: _Reader, metadata: Mapping[str, Any]) -> tuple[int, int | None]:
    annotations = metadata.get("annotations") or {}
    submit = reader.duration(annotations.get(SUBMIT_AT, "0s"), f"metadata.annotations.{SUBMIT_AT}")
    run_for = None
    if RUN_FOR in annotations:
        run_for = reader.duration(annotations[RUN_FOR], f"metadata.annotations.{RUN_FOR}")
    return submit or 0, run_for


def _priority(reader: _Reader, classes: dict[str, int], name: str | None, path: str) -> int:
    if name is None:
        return 0
    if name not in classes:
        reader.fault(path, f"WorkloadPriorityClass {name!r} does not exist")
        return 0
    return classes[name]


def _workload(reader: _Reader, body: Mapping[str, Any], classes: dict[str, int]) -> WorkloadSpec:
    metadata = reader.get(body, "metadata", dict, {})
    name = reader.required(metadata, "name", str) or ""
    namespace = reader.get(metadata, "namespace", str, "default")
    spec = reader.get(body, "spec", dict, {})
    queue = reader.required(spec, "queueName", str) or ""
    class_name = reader.get(spec, "priorityClassName", str) or reader.get(
        spec, "priorityClassRef.name", str
    )
    priority = reader.get(spec, "priority", int)
    if priority is None:
        priority = _priority(reader, classes, class_name, "spec.priorityClassName")
    pod_sets = []
    raw_pod_sets = reader.required(spec, "podSets", list) or []
    for p, raw in enumerate(raw_pod_sets):
        path = f"spec.podSets[{p}]"
        if not isinstance(raw, Mapping):
            reader.fault(path, "must be a mapping")
            continue
        count = reader.get(raw, "count", int, 1)
        pod_sets.append(
            _pod_set(reader, str(raw.get("name", "main")), count, raw.get("template") or {}, path)
        )
    submit_at, run_for = _timing(reader, metadata)
    admission = reader.get(body, "status.admission", dict)
    preadmitted, preadmitted_cq = None, None
    if admission:
        preadmitted_cq = reader.required(admission, "clusterQueue", str)
        preadmitted = {
            str(a.get("name", "main")): dict(a.get("flavors") or {})
            for a in reader.get(admission, "podSetAssignments", list, [])
        }
    labels = dict(metadata.get("labels") or {})
    return WorkloadSpec(
        namespace=namespace,
        name=name,
        uid=str(metadata.get("uid") or stable_uid(namespace, name)),
        queue_name=queue,
        priority=priority,
        priority_class=class_name,
        pod_sets=tuple(pod_sets),
        submit_at_ms=submit_at,
        run_for_ms=run_for,
        job_uid=labels.get(JOB_UID_LABEL),
        labels=labels,
        preadmitted=preadmitted,
        preadmitted_cluster_queue=preadmitted_cq,
        document=reader.doc.index,
    )


def _job_workload(
    reader: _Reader, body: Mapping[str, Any], classes: dict[str, int]
) -> WorkloadSpec:
    """A batch Job or PyTorchJob as Kueue's job integrations turn it into a Workload."""
    metadata = reader.get(body, "metadata", dict, {})
    name = reader.required(metadata, "name", str) or ""
    namespace = reader.get(metadata, "namespace", str, "default")
    labels = dict(metadata.get("labels") or {})
    kind, group = ("Job", "batch") if reader.doc.kind == "Job" else ("PyTorchJob", "kubeflow.org")
    job_uid = str(metadata.get("uid") or stable_uid(kind, namespace, name))
    spec = reader.get(body, "spec", dict, {})
    pod_sets = []
    if kind == "Job":
        parallelism = reader.get(spec, "parallelism", int, 1)
        completions = reader.get(spec, "completions", int, parallelism)
        template = reader.required(spec, "template", dict) or {}
        pod_sets.append(_pod_set(reader, "main", min(parallelism, completions), template, "spec"))
    else:
        replicas = reader.required(spec, "pytorchReplicaSpecs", dict) or {}
        for replica_type in ("Master", "Worker"):
            replica = replicas.get(replica_type)
            if replica is None:
                continue
            path = f"spec.pytorchReplicaSpecs.{replica_type}"
            count = reader.get(replica, "replicas", int, 1)
            pod_sets.append(
                _pod_set(reader, replica_type.lower(), count, replica.get("template") or {}, path)
            )
        unknown = sorted(set(replicas) - {"Master", "Worker"})
        for replica_type in unknown:
            reader.fault(
                f"spec.pytorchReplicaSpecs.{replica_type}", "replica type must be Master or Worker"
            )
    class_name = labels.get(PRIORITY_LABEL)
    submit_at, run_for = _timing(reader, metadata)
    wl_name = workload_name_for_job(kind, group, name, job_uid)
    return WorkloadSpec(
        namespace=namespace,
        name=wl_name,
        uid=stable_uid(namespace, wl_name),
        queue_name=labels.get(QUEUE_LABEL, ""),
        priority=_priority(reader, classes, class_name, f"metadata.labels.{PRIORITY_LABEL}"),
        priority_class=class_name,
        pod_sets=tuple(pod_sets),
        submit_at_ms=submit_at,
        run_for_ms=run_for,
        job_uid=job_uid,
        labels={JOB_UID_LABEL: job_uid},
        document=reader.doc.index,
    )


def _scenario_settings(reader: _Reader, body: Mapping[str, Any], scenario: Scenario) -> None:
    spec = reader.get(body, "spec", dict, {})
    fair = reader.get(spec, "fairSharing", dict, {})
    scenario.fair_sharing = bool(reader.get(fair, "enable", bool, scenario.fair_sharing))
    strategies = tuple(reader.get(fair, "preemptionStrategies", list, list(STRATEGIES)))
    for s, strategy in enumerate(strategies):
        if strategy not in STRATEGIES:
            reader.fault(
                f"spec.fairSharing.preemptionStrategies[{s}]",
                f"must be one of {', '.join(STRATEGIES)}, got {strategy!r}",
            )
    scenario.preemption_strategies = strategies
    if "until" in spec:
        scenario.until_ms = reader.duration(spec["until"], "spec.until")


def _compiled_policy(documents: list[Document], faults: list[Fault]) -> tuple[list[Document], bool]:
    """The Kueue objects of a Policy + Cluster pair, and whether the policy has FairShare on."""
    try:
        policy, label, cluster = policy_and_cluster(documents)
        objects = compile_policy(policy, cluster, label)
    except InputError as error:
        faults += error.faults
        return [], False
    index = next(doc.index for doc in documents if doc.kind == "Policy")
    source = documents[0].source
    compiled = [Document(f"{source}#{index} compiled", n, obj) for n, obj in enumerate(objects)]
    return compiled, policy.scheduler_config.fair_share == "Enabled"


def _read_kueue_object(
    reader: _Reader, body: Mapping[str, Any], name: str, scenario: Scenario
) -> None:
    kind = reader.doc.kind
    if kind == "ResourceFlavor":
        node_labels = dict(reader.get(body, "spec.nodeLabels", dict, {}))
        scenario.flavors[name] = ResourceFlavor(name, node_labels)
    elif kind == "ClusterQueue":
        scenario.cluster_queues[name] = _cluster_queue(reader, body, name)
    elif kind == "Cohort":
        spec = reader.get(body, "spec", dict, {})
        parent = reader.get(spec, "parent", str) or reader.get(spec, "parentName", str)
        groups = _resource_groups(reader, spec)
        scenario.cohorts[name] = Cohort(name, parent, groups, _weight(reader, spec))
    elif kind == "LocalQueue":
        namespace = str(body["metadata"].get("namespace", "default"))
        cluster_queue = reader.required(body, "spec.clusterQueue", str) or ""
        scenario.local_queues[(namespace, name)] = LocalQueue(namespace, name, cluster_queue)
    elif kind == "WorkloadPriorityClass":
        scenario.priority_classes[name] = reader.required(body, "value", int) or 0
    elif kind == "Workload":
        scenario.workloads.append(_workload(reader, body, scenario.priority_classes))
    else:
        reader.fault("kind", f"unsupported kind {kind!r}")


JOB_KINDS = {("Job", "batch/v1"), ("PyTorchJob", "kubeflow.org/v1")}


def build_scenario(documents: list[Document]) -> Scenario:
    """Validate a scenario's documents into a :class:`Scenario`.

    A Policy's ``FairShare: Enabled`` (the API default) turns on Kueue fair sharing;
    a Scenario document can override it.

    Raises:
        InputError: naming the document index, kind and name, and field of every fault.
    """
    faults: list[Fault] = []
    scenario = Scenario(fair_sharing=False)
    policy_docs = [
        d
        for d in documents
        if d.kind in ("Policy", "Cluster")
        and isinstance(d.body, Mapping)
        and d.body.get("apiVersion") == "taskgov/v1"
    ]
    if policy_docs:
        compiled, scenario.fair_sharing = _compiled_policy(policy_docs, faults)
        documents = compiled + [d for d in documents if d not in policy_docs]
    faults += scenario_faults((f"{d.source}#{d.index}", d.body) for d in documents)
    if faults:  # shapes first: the reader below trusts them
        raise InputError(faults)
    # Objects first, then workloads, so priority classes are known when workloads are read.
    ordered = sorted(documents, key=lambda d: d.kind in ("Workload", "Job", "PyTorchJob"))
    for doc in ordered:
        reader = _Reader(doc, faults)
        scenario.sources[reader.subject] = f"{doc.source}#{doc.index}"
        body = doc.body
        if not isinstance(body, Mapping):
            reader.fault("", "a document must be a mapping")
            continue
        api_version = body.get("apiVersion")
        metadata = body.get("metadata")
        name = str(metadata.get("name", "")) if isinstance(metadata, Mapping) else ""
        if doc.kind == "Scenario" and api_version == "taskgov/v1":
            _scenario_settings(reader, body, scenario)
        elif doc.kind == "Namespace" and api_version == "v1":
            continue
        elif (doc.kind, api_version) in JOB_KINDS:
            scenario.workloads.append(_job_workload(reader, body, scenario.priority_classes))
        elif api_version not in KUEUE_VERSIONS:
            reader.fault(
                "apiVersion", f"unsupported apiVersion {api_version!r} for kind {doc.kind!r}"
            )
        elif not name:
            reader.fault("metadata.name", "is required")
        else:
            _read_kueue_object(reader, body, name, scenario)
            if doc.kind != "Workload":
                scenario.manifests.append(dict(body))
    _cross_check(scenario, documents, faults)
    if faults:
        raise InputError(faults)
    scenario.workloads.sort(key=lambda w: (w.submit_at_ms, w.document))
    return scenario


def _cross_check(scenario: Scenario, documents: list[Document], faults: list[Fault]) -> None:
    by_index = {doc.index: doc for doc in documents if not doc.source.endswith("compiled")}
    for name, cq in scenario.cluster_queues.items():
        for g, group in enumerate(cq.resource_groups):
            for f, flavor in enumerate(group.flavors):
                if flavor.name not in scenario.flavors:
                    faults.append(
                        Fault(
                            scenario.sources.get(f"ClusterQueue {name}", "scenario"),
                            f"ClusterQueue {name}",
                            f"spec.resourceGroups[{g}].flavors[{f}].name",
                            f"ResourceFlavor {flavor.name!r} does not exist",
                        )
                    )
        if cq.cohort and cq.cohort not in scenario.cohorts:
            scenario.cohorts[cq.cohort] = Cohort(cq.cohort)
    for cohort in list(scenario.cohorts.values()):
        if cohort.parent and cohort.parent not in scenario.cohorts:
            scenario.cohorts[cohort.parent] = Cohort(cohort.parent)
    for (namespace, name), queue in scenario.local_queues.items():
        if queue.cluster_queue not in scenario.cluster_queues:
            faults.append(
                Fault(
                    scenario.sources.get(f"LocalQueue {namespace}/{name}", "scenario"),
                    f"LocalQueue {namespace}/{name}",
                    "spec.clusterQueue",
                    f"ClusterQueue {queue.cluster_queue!r} does not exist",
                )
            )
    seen: set[str] = set()
    for workload in scenario.workloads:
        doc = by_index.get(workload.document)
        where = f"{doc.source}#{doc.index}" if doc else "scenario"
        subject = f"Workload {workload.key}"
        if workload.key in seen:
            faults.append(
                Fault(where, subject, "metadata.name", "a Workload of this name already exists")
            )
        seen.add(workload.key)
        if (workload.namespace, workload.queue_name) not in scenario.local_queues:
            faults.append(
                Fault(
                    where,
                    subject,
                    "spec.queueName",
                    f"LocalQueue {workload.queue_name!r} does not exist "
                    f"in namespace {workload.namespace!r}",
                )
            )
