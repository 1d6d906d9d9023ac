"""Read a scenario: Kueue objects, Workloads and Jobs, and a Scenario document.

The objects are read with ``taskgov.kueue.read``, the one reader of Kueue manifests. A
HyperPod Policy is not the twin's to read: the policy layer compiles it into Kueue objects
first (``taskgov.scenarios.scenario_from_documents`` does both), or a caller hands the twin
typed Kueue objects (:meth:`Scenario.from_objects`). Every fault names the document index,
the object's kind and name, and the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from taskgov.errors import Fault, InputError
from taskgov.kueue.objects import KueueObjects
from taskgov.kueue.read import (
    KUEUE_API_VERSIONS,
    FieldReader,
    read_cluster_queue,
    read_cohort,
    read_local_queue,
    read_resource_flavor,
    subject_of,
)
from taskgov.twin.durations import parse_duration_ms
from taskgov.twin.objects import (
    ClusterQueue,
    Cohort,
    LocalQueue,
    ResourceFlavor,
    WorkloadSpec,
)
from taskgov.twin.scenario_checks import scenario_faults
from taskgov.twin.workloads import (
    JOB_KINDS,
    RUN_FOR,
    SUBMIT_AT,
    job_workload_spec,
    stable_uid,
    workload_name_for_job,
    workload_spec,
)

__all__ = [
    "RUN_FOR",
    "STRATEGIES",
    "SUBMIT_AT",
    "Manifest",
    "Scenario",
    "build_scenario",
    "stable_uid",
    "workload_name_for_job",
]

STRATEGIES = ("LessThanOrEqualToFinalShare", "LessThanInitialShare")
# Documents whose source ends so were compiled from another (e.g. a Policy), not written
# (``taskgov.policy.documents``): faults are located in the written ones.
COMPILED_SUFFIX = "compiled"


class Manifest(Protocol):
    """One document of a scenario file and where it came from."""

    @property
    def source(self) -> str: ...

    @property
    def index(self) -> int: ...

    @property
    def body(self) -> Any: ...

    @property
    def kind(self) -> str: ...


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

    @classmethod
    def from_objects(cls, objects: KueueObjects) -> Scenario:
        """A scenario of typed Kueue objects (e.g. a compiled policy), without Workloads yet."""
        scenario = cls(
            flavors=dict(objects.flavors),
            cluster_queues=dict(objects.cluster_queues),
            cohorts=dict(objects.cohorts),
            local_queues=dict(objects.local_queues),
            priority_classes={n: c.value for n, c in objects.priority_classes.items()},
            fair_sharing=objects.fair_sharing,
        )
        _add_implied_cohorts(scenario)
        return scenario


def _scenario_settings(reader: FieldReader, body: Mapping[str, Any], scenario: Scenario) -> None:
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
        try:
            scenario.until_ms = parse_duration_ms(str(spec["until"]))
        except ValueError as error:
            reader.fault("spec.until", str(error))


def _read_kueue_object(reader: FieldReader, doc: Manifest, name: str, scenario: Scenario) -> None:
    kind, body = doc.kind, doc.body
    if kind == "ResourceFlavor":
        scenario.flavors[name] = read_resource_flavor(reader, body, name)
    elif kind == "ClusterQueue":
        scenario.cluster_queues[name] = read_cluster_queue(reader, body, name)
    elif kind == "Cohort":
        scenario.cohorts[name] = read_cohort(reader, body, name)
    elif kind == "LocalQueue":
        queue = read_local_queue(reader, body, name)
        scenario.local_queues[(queue.namespace, name)] = queue
    elif kind == "WorkloadPriorityClass":
        scenario.priority_classes[name] = reader.required(body, "value", int) or 0
    elif kind == "Workload":
        classes = scenario.priority_classes
        scenario.workloads.append(workload_spec(reader, body, classes, doc.index))
    else:
        reader.fault("kind", f"unsupported kind {kind!r}")


def build_scenario(documents: Sequence[Manifest], *, fair_sharing: bool = False) -> Scenario:
    """Validate a scenario's documents into a :class:`Scenario`.

    Args:
        documents: Kueue objects, Workloads, batch Jobs and PyTorchJobs, Namespaces and
            Scenario documents (``taskgov/v1``).
        fair_sharing: whether Kueue's fair sharing is on unless a Scenario document says.

    Raises:
        InputError: naming the document index, kind and name, and field of every fault.
    """
    faults: list[Fault] = []
    scenario = Scenario(fair_sharing=fair_sharing)
    faults += scenario_faults((f"{d.source}#{d.index}", d.body) for d in documents)
    if faults:  # shapes first: the reader below trusts them
        raise InputError(faults)
    # Objects first, then workloads, so priority classes are known when workloads are read.
    ordered = sorted(documents, key=lambda d: d.kind in ("Workload", "Job", "PyTorchJob"))
    for doc in ordered:
        reader = FieldReader(
            f"{doc.source}#{doc.index}", subject_of(doc.kind or "object", doc.body), faults
        )
        scenario.sources[reader.subject] = reader.document
        _read_document(reader, doc, scenario)
    _cross_check(scenario, documents, faults)
    if faults:
        raise InputError(faults)
    scenario.workloads.sort(key=lambda w: (w.submit_at_ms, w.document))
    return scenario


def _read_document(reader: FieldReader, doc: Manifest, scenario: Scenario) -> None:
    body = doc.body
    if not isinstance(body, Mapping):
        reader.fault("", "a document must be a mapping")
        return
    api_version = body.get("apiVersion")
    metadata = body.get("metadata")
    name = str(metadata.get("name", "")) if isinstance(metadata, Mapping) else ""
    if doc.kind == "Scenario" and api_version == "taskgov/v1":
        _scenario_settings(reader, body, scenario)
    elif doc.kind == "Namespace" and api_version == "v1":
        return
    elif (doc.kind, api_version) in JOB_KINDS:
        classes = scenario.priority_classes
        spec = job_workload_spec(reader, doc.kind, body, classes, doc.index)
        scenario.workloads.append(spec)
    elif api_version not in KUEUE_API_VERSIONS:
        reader.fault("apiVersion", f"unsupported apiVersion {api_version!r} for kind {doc.kind!r}")
    elif not name:
        reader.fault("metadata.name", "is required")
    else:
        _read_kueue_object(reader, doc, name, scenario)
        if doc.kind != "Workload":
            scenario.manifests.append(dict(body))


def _add_implied_cohorts(scenario: Scenario) -> None:
    """Cohorts named by a ClusterQueue or as a parent exist, as in Kueue, without an object."""
    for cq in scenario.cluster_queues.values():
        if cq.cohort and cq.cohort not in scenario.cohorts:
            scenario.cohorts[cq.cohort] = Cohort(cq.cohort)
    for cohort in list(scenario.cohorts.values()):
        if cohort.parent and cohort.parent not in scenario.cohorts:
            scenario.cohorts[cohort.parent] = Cohort(cohort.parent)


def _cross_check(scenario: Scenario, documents: Sequence[Manifest], faults: list[Fault]) -> None:
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
    _add_implied_cohorts(scenario)
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
    _check_workloads(scenario, documents, faults)


def _check_workloads(
    scenario: Scenario, documents: Sequence[Manifest], faults: list[Fault]
) -> None:
    written = {d.index: d for d in documents if not d.source.endswith(COMPILED_SUFFIX)}
    seen: set[str] = set()
    for workload in scenario.workloads:
        doc = written.get(workload.document)
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
