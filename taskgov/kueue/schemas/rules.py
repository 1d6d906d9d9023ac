"""Kueue's rules across fields, named by ``x-taskgov-rules`` in the schemas.

The schema says what each field is; these say what the fields must be together, as the CEL
rules of Kueue's CRDs and the checks of ``pkg/webhooks`` do: a flavor or covered resource
listed twice, a flavor's resources in the order of ``coveredResources``, ``lendingLimit`` at
most ``nominalQuota`` in a ClusterQueue, limits only under a cohort, fair-sharing weights zero
or above 1n, ``reclaimWithinCohort: Never`` with a ``borrowWithinCohort`` policy, a fungibility
preference only with ``TryNextFlavor``, unique pod set names, ``minCount`` at most ``count``, a
priority with a priority class, and a class of the kind its group holds.

A rule runs once every field of its object has its type, and records faults at field paths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from taskgov.kueue.schemas.checks import Context, quantity_value

# A rule of one object, given the object and its field path.
Rule = Callable[[Context, Mapping[str, Any], str], None]


def _resource_groups(parent_keys: tuple[str, str], lending_at_most_nominal: bool) -> Rule:
    """Kueue's ``validateResourceGroups`` on a ClusterQueue's or Cohort's spec."""

    def rule(ctx: Context, spec: Mapping[str, Any], path: str) -> None:
        has_parent = any(spec.get(key) for key in parent_keys)
        seen_resources: set[str] = set()
        seen_flavors: set[str] = set()
        for g, group in enumerate(spec.get("resourceGroups") or []):
            gpath = f"{path}.resourceGroups[{g}]"
            covered = group["coveredResources"]
            for r, name in enumerate(covered):
                if name in seen_resources:
                    ctx.fault(f"{gpath}.coveredResources[{r}]", f"duplicate value {name!r}")
                seen_resources.add(name)
            for f, flavor in enumerate(group["flavors"]):
                fpath = f"{gpath}.flavors[{f}]"
                if flavor["name"] in seen_flavors:
                    ctx.fault(f"{fpath}.name", f"flavor {flavor['name']!r} is listed twice")
                seen_flavors.add(flavor["name"])
                if len(flavor["resources"]) != len(covered):
                    ctx.fault(
                        f"{fpath}.resources",
                        "flavors must have the same number of resources as the coveredResources",
                    )
                for r, quota in enumerate(flavor["resources"]):
                    qpath = f"{fpath}.resources[{r}]"
                    _quota_rules(ctx, quota, covered[r] if r < len(covered) else None, qpath)
                    if not has_parent:
                        _no_limits(ctx, quota, qpath)
                    if lending_at_most_nominal:
                        _lending_at_most_nominal(ctx, quota, qpath)

    return rule


def _quota_rules(ctx: Context, quota: Mapping[str, Any], covered: str | None, path: str) -> None:
    if covered is not None and quota["name"] != covered:
        ctx.fault(f"{path}.name", "must match the name in coveredResources")


def _no_limits(ctx: Context, quota: Mapping[str, Any], path: str) -> None:
    for key in ("borrowingLimit", "lendingLimit"):
        if quota.get(key) is not None:
            ctx.fault(f"{path}.{key}", "must be nil when cohort is empty")


def _lending_at_most_nominal(ctx: Context, quota: Mapping[str, Any], path: str) -> None:
    if quota.get("lendingLimit") is None:
        return
    lend = quantity_value(quota["lendingLimit"])
    nominal = quantity_value(quota["nominalQuota"])
    if not isinstance(lend, str) and not isinstance(nominal, str) and lend > nominal:
        ctx.fault(f"{path}.lendingLimit", "must be less than or equal to the nominalQuota")


def _fair_weight(ctx: Context, fair_sharing: Mapping[str, Any], path: str) -> None:
    """A weight is zero or above 1n (smaller weights collapse to zero)."""
    number = quantity_value(fair_sharing.get("weight", 1))
    if not isinstance(number, str) and 0 < number <= 1e-9:
        ctx.fault(f"{path}.weight", "when not 0, weight must be > 10e-9")


def _reclaim_never(ctx: Context, preemption: Mapping[str, Any], path: str) -> None:
    borrow = preemption.get("borrowWithinCohort") or {}
    reclaim = preemption.get("reclaimWithinCohort", "Never")
    if reclaim == "Never" and borrow.get("policy", "Never") != "Never":
        ctx.fault(path, "reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never")


def _preference(ctx: Context, fungibility: Mapping[str, Any], path: str) -> None:
    borrow = fungibility.get("whenCanBorrow", "MayStopSearch")
    preempt = fungibility.get("whenCanPreempt", "TryNextFlavor")
    if "preference" in fungibility and (borrow, preempt) != ("TryNextFlavor",) * 2:
        ctx.fault(
            f"{path}.preference",
            "preference requires both whenCanBorrow and whenCanPreempt to be TryNextFlavor",
        )


def _min_count(ctx: Context, pod_set: Mapping[str, Any], path: str) -> None:
    if pod_set.get("minCount") is not None and pod_set["minCount"] > pod_set.get("count", 1):
        ctx.fault(f"{path}.minCount", "minCount should be positive and less or equal to count")


def _unique_pod_sets(ctx: Context, spec: Mapping[str, Any], path: str) -> None:
    seen: set[str] = set()
    for p, pod_set in enumerate(spec["podSets"]):
        name = pod_set.get("name", "main")
        if name in seen:
            ctx.fault(f"{path}.podSets[{p}].name", f"duplicate pod set name {name!r}")
        seen.add(name)


def _priority_with_class(ctx: Context, spec: Mapping[str, Any], path: str) -> None:
    named = "priorityClassName" in spec or "priorityClassRef" in spec
    if named and spec.get("priority") is None:
        ctx.fault(path, "a priority class needs spec.priority too")


def _class_kind(ctx: Context, ref: Mapping[str, Any], path: str) -> None:
    kinds = {"kueue.x-k8s.io": "WorkloadPriorityClass", "scheduling.k8s.io": "PriorityClass"}
    wanted = kinds.get(str(ref.get("group")))
    if wanted is not None and ref.get("kind") != wanted:
        ctx.fault(path, f"group {ref.get('group')} holds only {wanted}")


RULES: dict[str, Rule] = {
    "cluster-queue-resource-groups": _resource_groups(("cohort", "cohortName"), True),
    "cohort-resource-groups": _resource_groups(("parent", "parentName"), False),
    "fair-sharing-weight": _fair_weight,
    "reclaim-never-borrow-never": _reclaim_never,
    "preference-needs-try-next-flavor": _preference,
    "min-count-at-most-count": _min_count,
    "unique-pod-set-names": _unique_pod_sets,
    "priority-with-class": _priority_with_class,
    "priority-class-kind-matches-group": _class_kind,
}
