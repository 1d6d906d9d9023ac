"""Twin objects built in code rather than read from manifests, in the shapes HyperPod compiles.

The trace reader, the forward run from the record, the synthetic event streams, the benches
and the property tests all build the same tree: a ClusterQueue with one resource group
(ClusterQueue -> ResourceGroup -> FlavorQuotas -> ResourceQuota), a LocalQueue on it in the
team's namespace, and Workloads of one pod set ``main`` with one pod. Built here once, so a
caller states only what differs (names, quotas, requests, times).
"""

from __future__ import annotations

from collections.abc import Mapping

from taskgov.twin.objects import (
    ClusterQueue,
    FlavorQuotas,
    LocalQueue,
    PodSet,
    Preemption,
    QueueingStrategy,
    ResourceGroup,
    ResourceQuota,
    WorkloadSpec,
)
from taskgov.twin.scenario import Scenario, stable_uid

# HyperPod's compiled preemption (see the README's "Policy compilation").
HYPERPOD_PREEMPTION = Preemption(within_cluster_queue="LowerPriority", reclaim_within_cohort="Any")

# Quotas of one resource group: flavor -> resource -> quota.
GroupQuotas = Mapping[str, Mapping[str, ResourceQuota]]


def resource_group(quotas: GroupQuotas) -> ResourceGroup:
    """One resource group covering every resource named, its flavors in name order (Kueue
    tries them in the order listed)."""
    covered = tuple(sorted({resource for resources in quotas.values() for resource in resources}))
    flavors = tuple(FlavorQuotas(flavor, dict(r)) for flavor, r in sorted(quotas.items()))
    return ResourceGroup(covered, flavors)


def cluster_queue(
    name: str,
    cohort: str | None,
    quotas: GroupQuotas,
    *,
    preemption: Preemption = HYPERPOD_PREEMPTION,
    queueing_strategy: QueueingStrategy = "BestEffortFIFO",
    fair_sharing_weight: float = 1.0,
) -> ClusterQueue:
    """A ClusterQueue of one resource group (see :func:`resource_group`), preempting as
    HyperPod compiles it unless ``preemption`` says otherwise."""
    return ClusterQueue(
        name=name,
        cohort=cohort,
        resource_groups=(resource_group(quotas),),
        queueing_strategy=queueing_strategy,
        preemption=preemption,
        fair_sharing_weight=fair_sharing_weight,
    )


def add_queue(scenario: Scenario, queue: ClusterQueue, local_queue: str) -> None:
    """Add ``queue`` and the LocalQueue ``local_queue`` on it, in the namespace named as the
    queue: one team, one namespace, one ClusterQueue."""
    scenario.cluster_queues[queue.name] = queue
    scenario.local_queues[(queue.name, local_queue)] = LocalQueue(
        queue.name, local_queue, queue.name
    )


def one_pod_workload(
    namespace: str,
    name: str,
    queue_name: str,
    requests: dict[str, int],
    *,
    submit_at_ms: int,
    run_for_ms: int | None,
    priority: int = 0,
    priority_class: str | None = None,
    document: int = 0,
) -> WorkloadSpec:
    """A Workload of one pod set ``main`` with one pod requesting ``requests``; its uid is
    derived from namespace and name, so the same job gets the same uid in every run."""
    return WorkloadSpec(
        namespace=namespace,
        name=name,
        uid=stable_uid(namespace, name),
        queue_name=queue_name,
        priority=priority,
        priority_class=priority_class,
        pod_sets=(PodSet("main", 1, requests),),
        submit_at_ms=submit_at_ms,
        run_for_ms=run_for_ms,
        document=document,
    )
