"""Compile a HyperPod policy into the Kueue objects task governance creates.

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
from typing import Any, Literal

from taskgov.catalog import instance_catalog
from taskgov.errors import InputError
from taskgov.kueue.quantity import CPU, MEMORY, format_amount
from taskgov.policy.amounts import Amounts, entry_amounts, instance_amounts
from taskgov.policy.checks import policy_faults
from taskgov.policy.model import NAMESPACE_PREFIX, Cluster, ComputeQuota, Policy

KueueApiVersion = Literal["v1beta1", "v1beta2"]
KUEUE_GROUP = "kueue.x-k8s.io"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
MANAGED_QUEUE_LABEL = "sagemaker.amazonaws.com/sagemaker-managed-queue"
ALLOCATION_LABEL = "sagemaker.amazonaws.com/quota-allocation-id"
UNALLOCATED_QUEUE = "hyperpod-unallocated-clusterqueue"
DEFAULT_BORROW_LIMIT_PCT = 50
MEBIBYTE = 2**20


@dataclass(frozen=True, slots=True)
class CompileOptions:
    """Choices about the output that the policy itself does not make."""

    cohort_name: str = "shared-pool"
    api_version: KueueApiVersion = "v1beta1"


def namespace_name(team: str) -> str:
    return f"{NAMESPACE_PREFIX}{team}"


def cluster_queue_name(team: str) -> str:
    return f"{NAMESPACE_PREFIX}{team}-clusterqueue"


def local_queue_name(team: str) -> str:
    return f"{NAMESPACE_PREFIX}{team}-localqueue"


def priority_class_name(name: str) -> str:
    return f"{name}-priority"


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
) -> list[dict[str, Any]]:
    flavors = [f for f in flavor_order if f in nominal or (borrowing and f in borrowing)]
    covered = _covered_resources(flavors)
    group_flavors = []
    for flavor in flavors:
        resources = []
        for resource in covered:
            quota: dict[str, Any] = {
                "name": resource,
                "nominalQuota": format_amount(resource, nominal.get(flavor, {}).get(resource, 0)),
            }
            if borrowing is not None:
                quota["borrowingLimit"] = format_amount(
                    resource, borrowing.get(flavor, {}).get(resource, 0)
                )
            if lending_limit_zero:
                quota["lendingLimit"] = "0"
            resources.append(quota)
        group_flavors.append({"name": flavor, "resources": resources})
    return [{"coveredResources": covered, "flavors": group_flavors}]


def _team_objects(
    quota: ComputeQuota, policy: Policy, flavor_order: list[str], options: CompileOptions
) -> list[dict[str, Any]]:
    team = quota.compute_quota_target.team_name
    config = quota.compute_quota_config
    nominal = {e.instance_type: entry_amounts(e) for e in config.compute_quota_resources}
    borrowing = _borrowing_limits(quota, nominal)
    strategy = config.resource_sharing_config.strategy
    kueue_api = f"{KUEUE_GROUP}/{options.api_version}"
    cohort_field = "cohort" if options.api_version == "v1beta1" else "cohortName"
    spec: dict[str, Any] = {
        cohort_field: options.cohort_name,
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace_name(team)}},
        "queueingStrategy": "BestEffortFIFO"
        if policy.scheduler_config.priority_classes
        else "StrictFIFO",
        "preemption": {
            "withinClusterQueue": config.preempt_team_tasks,
            "reclaimWithinCohort": "Any",
        },
        "resourceGroups": _resource_groups(
            flavor_order, nominal, borrowing, strategy == "DontLend"
        ),
    }
    if policy.scheduler_config.fair_share == "Enabled":
        weight = quota.compute_quota_target.fair_share_weight or 0
        spec["fairSharing"] = {"weight": str(weight + 1)}
    labels = {MANAGED_QUEUE_LABEL: "true", ALLOCATION_LABEL: team}
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace_name(team), "labels": labels},
        },
        {
            "apiVersion": kueue_api,
            "kind": "ClusterQueue",
            "metadata": {"name": cluster_queue_name(team), "labels": labels},
            "spec": spec,
        },
        {
            "apiVersion": kueue_api,
            "kind": "LocalQueue",
            "metadata": {"name": local_queue_name(team), "namespace": namespace_name(team)},
            "spec": {"clusterQueue": cluster_queue_name(team)},
        },
    ]


def _unallocated_queue(
    policy: Policy, cluster: Cluster, options: CompileOptions
) -> dict[str, Any] | None:
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
    cohort_field = "cohort" if options.api_version == "v1beta1" else "cohortName"
    return {
        "apiVersion": f"{KUEUE_GROUP}/{options.api_version}",
        "kind": "ClusterQueue",
        "metadata": {"name": UNALLOCATED_QUEUE},
        "spec": {
            cohort_field: options.cohort_name,
            # Matches no namespace: this queue only lends.
            "namespaceSelector": {"matchLabels": {MANAGED_QUEUE_LABEL: "unallocated"}},
            "resourceGroups": _resource_groups(list(free), free, None, False),
        },
    }


def compile_policy(
    policy: Policy, cluster: Cluster, document: str, options: CompileOptions | None = None
) -> list[dict[str, Any]]:
    """The Kueue objects for a policy, in an order ``kubectl apply -f -`` accepts.

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
    faults = policy_faults(policy, cluster, document)
    if faults:
        raise InputError(faults)
    kueue_api = f"{KUEUE_GROUP}/{options.api_version}"
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": kueue_api,
            "kind": "WorkloadPriorityClass",
            "metadata": {"name": priority_class_name(pc.name)},
            "value": pc.weight,
            "description": f"HyperPod priority class {pc.name} (weight {pc.weight})",
        }
        for pc in policy.scheduler_config.priority_classes
    ]
    flavor_order = list(cluster.instance_counts())
    objects += [
        {
            "apiVersion": kueue_api,
            "kind": "ResourceFlavor",
            "metadata": {"name": flavor},
            "spec": {"nodeLabels": {INSTANCE_TYPE_LABEL: flavor}},
        }
        for flavor in flavor_order
    ]
    for quota in policy.active_quotas():
        objects += _team_objects(quota, policy, flavor_order, options)
    if policy.scheduler_config.idle_resource_sharing == "Enabled":
        unallocated = _unallocated_queue(policy, cluster, options)
        if unallocated:
            objects.append(unallocated)
    return objects
