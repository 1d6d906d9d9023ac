"""Kueue's object shapes, as its CRD schemas and validating webhooks define them.

The shapes follow ``apis/kueue/v1beta1`` and ``v1beta2`` (enums, minimum and maximum items,
name patterns, int32 fields) and the rules of ``pkg/webhooks``: a flavor or covered resource
listed twice, a flavor's resources in the order of ``coveredResources``, ``lendingLimit`` at
most ``nominalQuota`` in a ClusterQueue, limits only under a cohort, non-negative quantities
and fair-sharing weights, ``reclaimWithinCohort: Never`` with a ``borrowWithinCohort`` policy.
Fields the twin does not read accept anything, as the API server's schema does for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from taskgov.twin.durations import parse_duration_ms
from taskgov.twin.field_checks import (
    INT32_MAX,
    Check,
    Context,
    anything,
    boolean,
    dictionary,
    dns_label,
    dns_subdomain,
    integer,
    label_value,
    mapping,
    qualified_name,
    quantity,
    quantity_value,
    sequence,
    shown,
    string,
)

KUEUE = ("kueue.x-k8s.io/v1beta1", "kueue.x-k8s.io/v1beta2")
TIME_ANNOTATIONS = ("taskgov.io/submit-at", "taskgov.io/run-for")
# The twin simulates at most ten years; a longer time is a typo, not a plan.
MAX_DURATION_MS = 10 * 366 * 24 * 3_600_000
TOP_LEVEL = {"apiVersion", "kind", "metadata", "spec", "status"}
TOP_LEVEL_EXTRA = {"WorkloadPriorityClass": {"value", "description"}}
# A cross-field rule of a mapping, run once its fields have their types.
Rule = Callable[[Context, Mapping[str, Any], str], None]


def duration(ctx: Context, value: Any, path: str) -> bool:
    """A Go-style duration of at most ten years."""
    if not isinstance(value, str) or len(value) > 40:
        return ctx.fault(path, f"must be a duration like 90s or 1h30m, got {shown(value)}")
    try:
        ms = parse_duration_ms(value)
    except ValueError as error:
        return ctx.fault(path, str(error))
    if ms > MAX_DURATION_MS:
        return ctx.fault(path, f"{value!r} is longer than the twin's ten years")
    return True


def _annotation(ctx: Context, value: Any, path: str) -> bool:
    if path.endswith(TIME_ANNOTATIONS):
        return duration(ctx, value, path)
    return string(max_length=256 * 1024)(ctx, value, path)


METADATA = mapping(
    {
        "name": dns_subdomain,
        "namespace": dns_label,
        "uid": string(max_length=128),
        "labels": dictionary(qualified_name, label_value),
        "annotations": dictionary(qualified_name, _annotation),
    },
    required=("name",),
    closed=False,
)
_QUANTITIES = dictionary(qualified_name, quantity)
_CONTAINER = mapping(
    {"resources": mapping({"requests": _QUANTITIES, "limits": _QUANTITIES}, closed=False)},
    closed=False,
)
_POD_TEMPLATE = mapping(
    {
        "metadata": anything,
        "spec": mapping(
            {
                "containers": sequence(_CONTAINER, min_items=1),
                "initContainers": sequence(_CONTAINER),
                "nodeSelector": dictionary(qualified_name, label_value),
            },
            required=("containers",),
            closed=False,
        ),
    },
    required=("spec",),
    closed=False,
)


def _fair_weight(ctx: Context, value: Mapping[str, Any], path: str) -> None:
    """Kueue: a weight is zero or above 1n (smaller weights collapse to zero)."""
    number = quantity_value(value.get("weight", 1))
    if not isinstance(number, str) and 0 < number <= 1e-9:
        ctx.fault(f"{path}.weight", "when not 0, weight must be > 10e-9")


_FAIR_SHARING = mapping({"weight": quantity}, rules=[_fair_weight])


def _resource_groups() -> Check:
    resource_quota = mapping(
        {
            "name": qualified_name,
            "nominalQuota": quantity,
            "borrowingLimit": quantity,
            "lendingLimit": quantity,
        },
        required=("name", "nominalQuota"),
    )
    flavor_quotas = mapping(
        {"name": dns_subdomain, "resources": sequence(resource_quota, min_items=1, max_items=64)},
        required=("name", "resources"),
    )
    group = mapping(
        {
            "coveredResources": sequence(qualified_name, min_items=1, max_items=64),
            "flavors": sequence(flavor_quotas, min_items=1, max_items=64),
        },
        required=("coveredResources", "flavors"),
    )

    return sequence(group, max_items=16)


def _group_rules(parent_keys: tuple[str, ...], lending_at_most_nominal: bool) -> Rule:
    """Kueue's ``validateResourceGroups``, after every field has its type."""

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
                    _quota_rules(ctx, quota, covered, r, f"{fpath}.resources[{r}]", has_parent)
                    if lending_at_most_nominal and quota.get("lendingLimit") is not None:
                        lend = quantity_value(quota["lendingLimit"])
                        nominal = quantity_value(quota["nominalQuota"])
                        if not isinstance(lend, str) and not isinstance(nominal, str):
                            if lend > nominal:
                                ctx.fault(
                                    f"{fpath}.resources[{r}].lendingLimit",
                                    "must be less than or equal to the nominalQuota",
                                )

    return rule


def _quota_rules(
    ctx: Context, quota: Mapping[str, Any], covered: list[str], r: int, path: str, parent: bool
) -> None:
    if r < len(covered) and quota["name"] != covered[r]:
        ctx.fault(f"{path}.name", "must match the name in coveredResources")
    for key in ("borrowingLimit", "lendingLimit"):
        if quota.get(key) is not None and not parent:
            ctx.fault(f"{path}.{key}", "must be nil when cohort is empty")


def _preemption_rule(ctx: Context, preemption: Mapping[str, Any], path: str) -> None:
    borrow = preemption.get("borrowWithinCohort") or {}
    if preemption.get("reclaimWithinCohort", "Never") == "Never" and borrow.get(
        "policy", "Never"
    ) not in ("Never",):
        ctx.fault(path, "reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never")


def _fungibility_rule(default_borrow: str) -> Rule:
    def rule(ctx: Context, fungibility: Mapping[str, Any], path: str) -> None:
        borrow = fungibility.get("whenCanBorrow", default_borrow)
        preempt = fungibility.get("whenCanPreempt", "TryNextFlavor")
        if "preference" in fungibility and (borrow, preempt) != ("TryNextFlavor",) * 2:
            ctx.fault(
                f"{path}.preference",
                "preference requires both whenCanBorrow and whenCanPreempt to be TryNextFlavor",
            )

    return rule


def _cluster_queue_spec(beta1: bool) -> Check:
    """ClusterQueueSpec; v1beta1 still takes Borrow and Preempt for MayStopSearch."""
    when_borrow = ("MayStopSearch", "TryNextFlavor", *(("Borrow",) if beta1 else ()))
    when_preempt = ("MayStopSearch", "TryNextFlavor", *(("Preempt",) if beta1 else ()))
    return mapping(
        {
            "resourceGroups": _resource_groups(),
            "cohort": dns_subdomain,
            "cohortName": dns_subdomain,
            "queueingStrategy": string(choices=("StrictFIFO", "BestEffortFIFO")),
            "namespaceSelector": anything,
            "flavorFungibility": mapping(
                {
                    "whenCanBorrow": string(choices=when_borrow),
                    "whenCanPreempt": string(choices=when_preempt),
                    "preference": string(
                        choices=("BorrowingOverPreemption", "PreemptionOverBorrowing")
                    ),
                },
                rules=[_fungibility_rule("MayStopSearch")],
            ),
            "preemption": mapping(
                {
                    "reclaimWithinCohort": string(choices=("Never", "LowerPriority", "Any")),
                    "withinClusterQueue": string(
                        choices=("Never", "LowerPriority", "LowerOrNewerEqualPriority")
                    ),
                    "borrowWithinCohort": mapping(
                        {
                            "policy": string(choices=("Never", "LowerPriority")),
                            "maxPriorityThreshold": integer(minimum=-INT32_MAX - 1),
                        }
                    ),
                },
                rules=[_preemption_rule],
            ),
            "admissionChecks": anything,
            "admissionChecksStrategy": anything,
            "stopPolicy": string(choices=("None", "Hold", "HoldAndDrain")),
            "fairSharing": _FAIR_SHARING,
            "admissionScope": anything,
            "concurrentAdmissionPolicy": anything,
        },
        rules=[_group_rules(("cohort", "cohortName"), True)],
    )


def _workload_spec() -> Check:
    """WorkloadSpec: 1 to 18 pod sets with unique names, int32 counts and priorities."""
    pod_set = mapping(
        {
            "name": dns_label,
            "template": _POD_TEMPLATE,
            "count": integer(minimum=0),
            "minCount": integer(minimum=1),
            "topologyRequest": anything,
        },
        required=("template",),
        rules=[_min_count_rule],
    )
    priority_class_ref = mapping(
        {
            "group": string(choices=("kueue.x-k8s.io", "scheduling.k8s.io")),
            "kind": string(choices=("WorkloadPriorityClass", "PriorityClass")),
            "name": dns_subdomain,
        },
        required=("name",),
    )
    return mapping(
        {
            "podSets": sequence(pod_set, min_items=1, max_items=18),
            "queueName": dns_subdomain,
            "priorityClassName": dns_subdomain,
            "priorityClassSource": anything,
            "priorityClassRef": priority_class_ref,
            "priority": integer(minimum=-INT32_MAX - 1),
            "active": boolean,
            "maximumExecutionTimeSeconds": integer(minimum=1),
            "preemptionGates": anything,
        },
        required=("podSets",),
        rules=[_unique_pod_sets],
    )


@cache
def _specs(version: str) -> dict[str, Check]:
    """The ``spec`` check of each kind in one Kueue API version."""
    return {
        "ClusterQueue": _cluster_queue_spec(version.endswith("v1beta1")),
        "Cohort": mapping(
            {
                "parent": dns_subdomain,
                "parentName": dns_subdomain,
                "resourceGroups": _resource_groups(),
                "fairSharing": _FAIR_SHARING,
            },
            rules=[_group_rules(("parent", "parentName"), False)],
        ),
        "LocalQueue": mapping(
            {"clusterQueue": dns_subdomain, "stopPolicy": anything, "fairSharing": anything},
            required=("clusterQueue",),
        ),
        "ResourceFlavor": mapping(
            {
                "nodeLabels": dictionary(qualified_name, label_value),
                "nodeTaints": anything,
                "tolerations": anything,
                "topologyName": dns_subdomain,
            }
        ),
        "Workload": _workload_spec(),
    }


def _min_count_rule(ctx: Context, pod_set: Mapping[str, Any], path: str) -> None:
    if pod_set.get("minCount") is not None and pod_set["minCount"] > pod_set.get("count", 1):
        ctx.fault(f"{path}.minCount", "minCount should be positive and less or equal to count")


def _unique_pod_sets(ctx: Context, spec: Mapping[str, Any], path: str) -> None:
    seen: set[str] = set()
    for p, pod_set in enumerate(spec["podSets"]):
        name = pod_set.get("name", "main")
        if name in seen:
            ctx.fault(f"{path}.podSets[{p}].name", f"duplicate pod set name {name!r}")
        seen.add(name)


_REPLICA = mapping(
    {"replicas": integer(minimum=0), "template": _POD_TEMPLATE, "restartPolicy": anything},
    required=("template",),
)
_JOBS: dict[tuple[str, str], Check] = {
    ("Job", "batch/v1"): mapping(
        {
            "parallelism": integer(minimum=0),
            "completions": integer(minimum=0),
            "template": _POD_TEMPLATE,
        },
        required=("template",),
        closed=False,
    ),
    ("PyTorchJob", "kubeflow.org/v1"): mapping(
        {
            "pytorchReplicaSpecs": mapping({"Master": _REPLICA, "Worker": _REPLICA}, required=()),
        },
        required=("pytorchReplicaSpecs",),
        closed=False,
    ),
    ("Scenario", "taskgov/v1"): mapping(
        {
            "fairSharing": mapping(
                {
                    "enable": boolean,
                    "preemptionStrategies": sequence(
                        string(choices=("LessThanOrEqualToFinalShare", "LessThanInitialShare")),
                        max_items=2,
                    ),
                }
            ),
            "until": duration,
        }
    ),
}
_ADMISSION = mapping(
    {
        "clusterQueue": dns_subdomain,
        "podSetAssignments": sequence(
            mapping(
                {
                    "name": dns_label,
                    "flavors": dictionary(qualified_name, dns_subdomain),
                    "count": integer(minimum=0),
                    "resourceUsage": _QUANTITIES,
                    "topologyAssignment": anything,
                    "delayedTopologyRequest": anything,
                },
                required=("name",),
            ),
            max_items=18,
        ),
    },
    required=("clusterQueue", "podSetAssignments"),
)
WORKLOAD_STATUS = mapping({"admission": _ADMISSION}, closed=False)


def spec_check(kind: str, api_version: str) -> Check | None:
    if api_version in KUEUE:
        return _specs(api_version).get(kind)
    return _JOBS.get((kind, api_version))
