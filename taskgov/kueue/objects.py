"""Kueue's objects, typed: frozen, validated once at the edge (``taskgov.kueue.read``).

Field names follow the Kueue API (v1beta1 and v1beta2); amounts are Kueue's integers
(millicores for CPU, whole units otherwise), see ``taskgov.kueue.quantity``. The policy layer
compiles a HyperPod policy into these, the twin simulates them, and the watcher reads
Workloads and ClusterQueues into them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

FlavorResource = tuple[str, str]
QueueingStrategy = Literal["StrictFIFO", "BestEffortFIFO"]


class FungibilityPreference(StrEnum):
    """``spec.flavorFungibility.preference`` (Kueue >= 0.15, KEP-582 flavor fungibility).

    Which flavor wins when every candidate needs borrowing, preemption, or both.
    """

    # Least borrowing distance first, then the better preemption mode (the default).
    BORROWING_OVER_PREEMPTION = "BorrowingOverPreemption"
    # Better preemption mode first (reclaim over preemption in the ClusterQueue), then borrowing.
    PREEMPTION_OVER_BORROWING = "PreemptionOverBorrowing"


@dataclass(frozen=True, slots=True)
class ResourceFlavor:
    name: str
    node_labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResourceQuota:
    """One resource of one flavor of a ClusterQueue or Cohort; ``None`` limits are unlimited."""

    nominal: int
    borrowing_limit: int | None = None
    lending_limit: int | None = None


@dataclass(frozen=True, slots=True)
class FlavorQuotas:
    name: str
    resources: dict[str, ResourceQuota]


@dataclass(frozen=True, slots=True)
class ResourceGroup:
    covered_resources: tuple[str, ...]
    flavors: tuple[FlavorQuotas, ...]


@dataclass(frozen=True, slots=True)
class Preemption:
    """``spec.preemption`` of a ClusterQueue, with Kueue's defaults."""

    within_cluster_queue: str = "Never"
    reclaim_within_cohort: str = "Never"
    borrow_within_cohort: str = "Never"
    max_priority_threshold: int | None = None


@dataclass(frozen=True, slots=True)
class ClusterQueue:
    name: str
    cohort: str | None
    resource_groups: tuple[ResourceGroup, ...]
    queueing_strategy: QueueingStrategy = "BestEffortFIFO"
    preemption: Preemption = Preemption()
    when_can_borrow: str = "Borrow"
    when_can_preempt: str = "TryNextFlavor"
    fungibility_preference: FungibilityPreference | None = None
    fair_sharing_weight: float = 1.0
    stopped: bool = False

    def quota(self, flavor: str, resource: str) -> ResourceQuota | None:
        for group in self.resource_groups:
            for flavor_quotas in group.flavors:
                if flavor_quotas.name == flavor:
                    return flavor_quotas.resources.get(resource)
        return None

    def flavor_resources(self) -> list[FlavorResource]:
        return [
            (fq.name, resource)
            for group in self.resource_groups
            for fq in group.flavors
            for resource in fq.resources
        ]


@dataclass(frozen=True, slots=True)
class Cohort:
    name: str
    parent: str | None = None
    resource_groups: tuple[ResourceGroup, ...] = ()
    fair_sharing_weight: float = 1.0


@dataclass(frozen=True, slots=True)
class LocalQueue:
    namespace: str
    name: str
    cluster_queue: str


@dataclass(frozen=True, slots=True)
class PodSet:
    """A pod set with its total requests (per-pod requests times count)."""

    name: str
    count: int
    requests: dict[str, int]
    node_selector: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WorkloadPriorityClass:
    name: str
    value: int
    description: str = ""


@dataclass(frozen=True, slots=True)
class Admission:
    """``status.admission`` of a Workload: its ClusterQueue and the flavor per pod set and
    resource."""

    cluster_queue: str
    flavors: dict[str, dict[str, str]]


@dataclass(frozen=True, slots=True)
class Workload:
    """A Workload manifest as Kueue reads it (``spec`` and ``status.admission``).

    Attributes:
        priority: ``spec.priority`` when given; else the caller resolves ``priority_class``.
        pod_sets: each with its total requests (per-pod requests times count).
    """

    namespace: str
    name: str
    uid: str | None
    queue_name: str
    priority: int | None
    priority_class: str | None
    pod_sets: tuple[PodSet, ...]
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    admission: Admission | None = None


@dataclass(frozen=True, slots=True)
class KueueObjects:
    """The objects that set up a Kueue cluster (all but its Workloads), by name.

    Attributes:
        namespaces: namespaces the LocalQueues live in.
        fair_sharing: whether Kueue's fair sharing is on (a setting of the Kueue manager).
    """

    flavors: dict[str, ResourceFlavor] = field(default_factory=dict)
    cluster_queues: dict[str, ClusterQueue] = field(default_factory=dict)
    cohorts: dict[str, Cohort] = field(default_factory=dict)
    local_queues: dict[tuple[str, str], LocalQueue] = field(default_factory=dict)
    priority_classes: dict[str, WorkloadPriorityClass] = field(default_factory=dict)
    namespaces: tuple[str, ...] = ()
    fair_sharing: bool = False
