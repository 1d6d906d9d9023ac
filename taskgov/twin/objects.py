"""The twin's view of Kueue's objects: those of ``taskgov.kueue.objects``, and a Workload as
submitted to the twin, with its timing annotations resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from taskgov.kueue.objects import (
    ClusterQueue,
    Cohort,
    FlavorQuotas,
    FlavorResource,
    FungibilityPreference,
    LocalQueue,
    PodSet,
    Preemption,
    QueueingStrategy,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuota,
)

__all__ = [
    "ClusterQueue",
    "Cohort",
    "FlavorQuotas",
    "FlavorResource",
    "FungibilityPreference",
    "LocalQueue",
    "PodSet",
    "Preemption",
    "QueueingStrategy",
    "ResourceFlavor",
    "ResourceGroup",
    "ResourceQuota",
    "WorkloadSpec",
]


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    """A Workload as submitted, with the twin's timing annotations resolved."""

    namespace: str
    name: str
    uid: str
    queue_name: str
    priority: int
    priority_class: str | None
    pod_sets: tuple[PodSet, ...]
    submit_at_ms: int
    run_for_ms: int | None
    job_uid: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    # ``status.admission`` given in the scenario: admitted at time zero in document order.
    preadmitted: dict[str, dict[str, str]] | None = None
    preadmitted_cluster_queue: str | None = None
    document: int = 0
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.namespace}/{self.name}")
