"""Compile a HyperPod policy into the Kueue objects task governance creates, typed.

:func:`compile_objects` gives ``taskgov.kueue.objects`` (what the twin and the optimizer's
replays take); :func:`compile_policy` renders them as manifests (``taskgov.policy.render``) for
``kubectl apply``.

Decisions where AWS documents no mapping (see README, "Policy compilation"):
- Every team ClusterQueue joins one cohort (``shared-pool`` unless configured).
- BorrowLimit is a percent of the team's own nominal quota, per flavor and resource, rounded
  down to whole accelerators, millicores and MiB; AbsoluteBorrowLimits replace it where given.
- Lend: borrows nothing. DontLend: lends and borrows nothing (``lendingLimit: 0``).
- Task ranking (priority classes defined) is ``BestEffortFIFO``; without classes tasks run
  first come first served, ``StrictFIFO``.
- Kueue fair-sharing weight = FairShareWeight + 1: the API's default 0 becomes Kueue's
  default 1 (an equal share) instead of Kueue's infinite share for weight 0.
- IdleResourceSharing Enabled adds a ClusterQueue holding the unallocated capacity, which
  lends all of it and admits nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskgov.catalog import instance_catalog
from taskgov.errors import InputError
from taskgov.kueue.hyperpod import (
    UNALLOCATED_QUEUE,
    cluster_queue_name,
    local_queue_name,
    namespace_name,
    priority_class_name,
)
from taskgov.kueue.objects import (
    ClusterQueue,
    FlavorQuotas,
    KueueObjects,
    LocalQueue,
    Preemption,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuota,
    WorkloadPriorityClass,
)
from taskgov.kueue.quantity import CPU, MEMORY
from taskgov.policy.amounts import Amounts, entry_amounts, instance_amounts
from taskgov.policy.checks import policy_faults
from taskgov.policy.model import Cluster, ComputeQuota, Policy
from taskgov.policy.render import (
    INSTANCE_TYPE_LABEL,
    CompileOptions,
    KueueApiVersion,
    render_manifests,
)

__all__ = [
    "INSTANCE_TYPE_LABEL",
    "UNALLOCATED_QUEUE",
    "CompileOptions",
    "CompiledPolicy",
    "KueueApiVersion",
    "cluster_queue_name",
    "compile_objects",
    "compile_policy",
    "local_queue_name",
    "namespace_name",
    "priority_class_name",
]

DEFAULT_BORROW_LIMIT_PCT = 50
MEBIBYTE = 2**20


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A policy as Kueue objects, and the teams they were made for.

    Attributes:
        kueue: the objects, in the order they are applied.
        teams: the teams of the active allocations, in the policy's order.
    """

    kueue: KueueObjects
    teams: tuple[str, ...]


def _round_down(resource: str, amount: int) -> int:
    """Borrowing never exceeds the percentage: whole accelerators, millicores, MiB."""
    if resource == MEMORY:
        return amount - amount % MEBIBYTE
    return amount


def _borrowing_limits(quota: ComputeQuota, nominal: dict[str, Amounts]) -> dict[str, Amounts]:
    sharing = quota.compute_quota_config.resource_sharing_config
    if sharing.strategy != "LendAndBorrow":
        return {flavor: dict.fromkeys(amounts, 0) for flavor, amounts in nominal.items()}
    pct = DEFAULT_BORROW_LIMIT_PCT if sharing.borrow_limit is None else sharing.borrow_limit
    limits = {
        flavor: {r: _round_down(r, amount * pct // 100) for r, amount in amounts.items()}
        for flavor, amounts in nominal.items()
    }
    for entry in sharing.absolute_borrow_limits:
        limits.setdefault(entry.instance_type, {}).update(entry_amounts(entry))
    return limits


def _covered_resources(flavors: list[str]) -> list[str]:
    catalog = instance_catalog()
    accelerators = sorted({catalog[flavor].accelerator_resource for flavor in flavors})
    return [CPU, MEMORY, *accelerators]


def _resource_groups(
    flavor_order: list[str],
    nominal: dict[str, Amounts],
    borrowing: dict[str, Amounts] | None,
    lending_limit_zero: bool,
) -> tuple[ResourceGroup, ...]:
    """One group covering cpu, memory and the accelerators of every flavor with quota."""
    flavors = [f for f in flavor_order if f in nominal or (borrowing and f in borrowing)]
    covered = _covered_resources(flavors)
    quotas = tuple(
        FlavorQuotas(
            flavor,
            {
                resource: ResourceQuota(
                    nominal=nominal.get(flavor, {}).get(resource, 0),
                    borrowing_limit=None
                    if borrowing is None
                    else borrowing.get(flavor, {}).get(resource, 0),
                    lending_limit=0 if lending_limit_zero else None,
                )
                for resource in covered
            },
        )
        for flavor in flavors
    )
    return (ResourceGroup(tuple(covered), quotas),)


def _team_queue(
    quota: ComputeQuota, policy: Policy, flavor_order: list[str], options: CompileOptions
) -> ClusterQueue:
    team = quota.compute_quota_target.team_name
    config = quota.compute_quota_config
    nominal = {e.instance_type: entry_amounts(e) for e in config.compute_quota_resources}
    strategy = config.resource_sharing_config.strategy
    weight = 1.0
    if policy.scheduler_config.fair_share == "Enabled":
        weight = float((quota.compute_quota_target.fair_share_weight or 0) + 1)
    return ClusterQueue(
        name=cluster_queue_name(team),
        cohort=options.cohort_name,
        resource_groups=_resource_groups(
            flavor_order, nominal, _borrowing_limits(quota, nominal), strategy == "DontLend"
        ),
        queueing_strategy="BestEffortFIFO"
        if policy.scheduler_config.priority_classes
        else "StrictFIFO",
        preemption=Preemption(
            within_cluster_queue=config.preempt_team_tasks, reclaim_within_cohort="Any"
        ),
        fair_sharing_weight=weight,
    )


def _unallocated_queue(
    policy: Policy, cluster: Cluster, options: CompileOptions
) -> ClusterQueue | None:
    catalog = instance_catalog()
    free: dict[str, Amounts] = {}
    for instance_type, count in cluster.instance_counts().items():
        free[instance_type] = instance_amounts(catalog[instance_type], count)
    for quota in policy.active_quotas():
        for entry in quota.compute_quota_config.compute_quota_resources:
            for resource, amount in entry_amounts(entry).items():
                free[entry.instance_type][resource] -= amount
    free = {flavor: amounts for flavor, amounts in free.items() if any(amounts.values())}
    if not free:
        return None
    groups = _resource_groups(list(free), free, None, False)
    return ClusterQueue(name=UNALLOCATED_QUEUE, cohort=options.cohort_name, resource_groups=groups)


def compile_objects(
    policy: Policy, cluster: Cluster, document: str, options: CompileOptions | None = None
) -> CompiledPolicy:
    """The Kueue objects HyperPod task governance creates for a policy.

    Args:
        policy: the validated policy.
        cluster: the instances its quotas divide.
        document: the policy document's label, named by every fault.
        options: the cohort's name.

    Returns:
        WorkloadPriorityClasses, a ResourceFlavor per instance type, per team a namespace,
        ClusterQueue and LocalQueue, and the unallocated capacity's ClusterQueue if shared.

    Raises:
        InputError: the policy does not fit the cluster or contradicts itself.
    """
    options = options or CompileOptions()
    faults = policy_faults(policy, cluster, document)
    if faults:
        raise InputError(faults)
    classes = {
        priority_class_name(pc.name): WorkloadPriorityClass(
            priority_class_name(pc.name),
            pc.weight,
            f"HyperPod priority class {pc.name} (weight {pc.weight})",
        )
        for pc in policy.scheduler_config.priority_classes
    }
    flavor_order = list(cluster.instance_counts())
    flavors = {f: ResourceFlavor(f, {INSTANCE_TYPE_LABEL: f}) for f in flavor_order}
    teams = tuple(q.compute_quota_target.team_name for q in policy.active_quotas())
    queues = {
        q.name: q
        for q in (
            _team_queue(quota, policy, flavor_order, options) for quota in policy.active_quotas()
        )
    }
    if policy.scheduler_config.idle_resource_sharing == "Enabled":
        unallocated = _unallocated_queue(policy, cluster, options)
        if unallocated:
            queues[unallocated.name] = unallocated
    local_queues = {
        (namespace_name(t), local_queue_name(t)): LocalQueue(
            namespace_name(t), local_queue_name(t), cluster_queue_name(t)
        )
        for t in teams
    }
    objects = KueueObjects(
        flavors=flavors,
        cluster_queues=queues,
        local_queues=local_queues,
        priority_classes=classes,
        namespaces=tuple(namespace_name(t) for t in teams),
        fair_sharing=policy.scheduler_config.fair_share == "Enabled",
    )
    return CompiledPolicy(objects, teams)


def compile_policy(
    policy: Policy, cluster: Cluster, document: str, options: CompileOptions | None = None
) -> list[dict[str, Any]]:
    """The Kueue objects for a policy as manifests, in an order ``kubectl apply -f -`` accepts.

    Args:
        policy: the validated policy.
        cluster: the instances its quotas divide.
        document: the policy document's label, named by every fault.
        options: cohort name and Kueue API version.

    Returns:
        WorkloadPriorityClasses, ResourceFlavors, then per team a Namespace,
        ClusterQueue and LocalQueue, as plain manifests.

    Raises:
        InputError: the policy does not fit the cluster or contradicts itself.
    """
    options = options or CompileOptions()
    compiled = compile_objects(policy, cluster, document, options)
    return render_manifests(compiled.kueue, compiled.teams, options)
