"""Checks that need more than one field: across entries, allocations and the cluster."""

from __future__ import annotations

from collections import Counter, defaultdict

from taskgov.catalog import instance_catalog
from taskgov.errors import Fault
from taskgov.kueue.quantity import format_amount
from taskgov.policy.amounts import entry_amounts, instance_amounts
from taskgov.policy.model import Cluster, ComputeQuota, ComputeQuotaResource, Policy

_AMOUNT_FIELDS = ("Accelerators", "VCpu", "MemoryInGiB")


def _entry_faults(
    entries: list[ComputeQuotaResource], cluster: Cluster, where: Fault, field: str
) -> list[Fault]:
    """Faults of ComputeQuotaResources or AbsoluteBorrowLimits, placed as ``where`` says."""

    def fault(at: str, message: str) -> Fault:
        return Fault(where.document, where.subject, at, message)

    faults = []
    counts = cluster.instance_counts()
    seen: set[str] = set()
    for position, entry in enumerate(entries):
        at = f"{field}[{position}]"
        if entry.instance_type in seen:
            faults.append(fault(f"{at}.InstanceType", f"{entry.instance_type} is listed twice"))
        seen.add(entry.instance_type)
        if entry.instance_type not in counts:
            faults.append(
                fault(
                    f"{at}.InstanceType", f"{entry.instance_type} is not in cluster {cluster.name}"
                )
            )
        amounts = (entry.accelerators, entry.vcpu, entry.memory_gib)
        given = [
            name for name, value in zip(_AMOUNT_FIELDS, amounts, strict=True) if value is not None
        ]
        if entry.count is not None and given:
            faults.append(
                fault(
                    at,
                    f"give Count or {'/'.join(_AMOUNT_FIELDS)}, not both "
                    f"(Count and {', '.join(given)} are set)",
                )
            )
        if entry.accelerator_partition is not None:
            faults.append(
                fault(f"{at}.AcceleratorPartition", "MIG partitions are not supported yet")
            )
        elif entry.count is None and not given:
            faults.append(fault(at, f"give Count or one of {', '.join(_AMOUNT_FIELDS)}"))
    return faults


def _quota_faults(quota: ComputeQuota, cluster: Cluster, document: str) -> list[Fault]:
    where = Fault(document, f"ComputeQuota {quota.name}", "", "")
    config = quota.compute_quota_config
    faults = _entry_faults(
        config.compute_quota_resources, cluster, where, "ComputeQuotaConfig.ComputeQuotaResources"
    )
    sharing = config.resource_sharing_config
    sharing_field = "ComputeQuotaConfig.ResourceSharingConfig"
    faults += _entry_faults(
        sharing.absolute_borrow_limits, cluster, where, f"{sharing_field}.AbsoluteBorrowLimits"
    )
    if sharing.strategy != "LendAndBorrow":
        for name, value in (
            ("BorrowLimit", sharing.borrow_limit),
            ("AbsoluteBorrowLimits", sharing.absolute_borrow_limits),
        ):
            if value:
                faults.append(
                    Fault(
                        document,
                        where.subject,
                        f"{sharing_field}.{name}",
                        f"Strategy {sharing.strategy} does not borrow, so {name} cannot be set",
                    )
                )
    return faults


def _capacity_faults(quotas: list[ComputeQuota], cluster: Cluster, document: str) -> list[Fault]:
    catalog = instance_catalog()
    # guaranteed[instance_type][resource][team] = amount the team's nominal quota holds.
    guaranteed: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for quota in quotas:
        team = quota.compute_quota_target.team_name
        for entry in quota.compute_quota_config.compute_quota_resources:
            for resource, amount in entry_amounts(entry).items():
                guaranteed[entry.instance_type][resource][team] = amount
    faults = []
    for instance_type, count in cluster.instance_counts().items():
        capacity = instance_amounts(catalog[instance_type], count)
        for resource, by_team in guaranteed.get(instance_type, {}).items():
            total = sum(by_team.values())
            if total > capacity[resource]:
                shares = ", ".join(
                    f"{team} {format_amount(resource, amount)}" for team, amount in by_team.items()
                )
                faults.append(
                    Fault(
                        document,
                        f"Cluster {cluster.name}",
                        f"{instance_type} {resource}",
                        f"allocations guarantee {format_amount(resource, total)} ({shares}) "
                        f"but {count} instances have {format_amount(resource, capacity[resource])}",
                    )
                )
    return faults


def policy_faults(policy: Policy, cluster: Cluster, document: str) -> list[Fault]:
    """Every fault of a policy against a cluster that single fields cannot show.

    Args:
        policy: a validated policy.
        cluster: the cluster its quotas are carved from.
        document: the label of the policy's document, for the faults.

    Returns:
        Faults in a stable order; empty when the policy can be compiled.
    """
    faults = []
    classes = Counter(pc.name for pc in policy.scheduler_config.priority_classes)
    faults += [
        Fault(
            document, "SchedulerConfig", "PriorityClasses", f"class {name!r} is defined {n} times"
        )
        for name, n in classes.items()
        if n > 1
    ]
    names = Counter(quota.name for quota in policy.compute_quotas)
    faults += [
        Fault(document, f"ComputeQuota {name}", "Name", f"{n} allocations have this name")
        for name, n in names.items()
        if n > 1
    ]
    teams = Counter(quota.compute_quota_target.team_name for quota in policy.compute_quotas)
    for quota in policy.compute_quotas:
        team = quota.compute_quota_target.team_name
        if teams[team] > 1:
            faults.append(
                Fault(
                    document,
                    f"ComputeQuota {quota.name}",
                    "ComputeQuotaTarget.TeamName",
                    f"team {team!r} has {teams[team]} allocations; a team has one",
                )
            )
        faults += _quota_faults(quota, cluster, document)
    if not faults:
        faults += _capacity_faults(policy.active_quotas(), cluster, document)
    return faults
