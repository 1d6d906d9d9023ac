"""Schemas of ClusterQueue, Cohort, LocalQueue, ResourceFlavor and WorkloadPriorityClass.

Written from Kueue's API types (``apis/kueue/v1beta1`` and ``v1beta2``): field names, enums,
bounds and defaults as Kueue declares them; descriptions are ours. Validation rules Kueue
writes in CEL are named in ``x-taskgov-rules`` and checked by ``taskgov.kueue.schemas.validate``.
"""

from __future__ import annotations

from taskgov.kueue.schemas.builders import (
    Schema,
    array,
    conditions,
    free_object,
    integer,
    kind_schema,
    label_selector,
    name_ref,
    obj,
    qualified_name,
    quantity,
    string,
    string_map,
)

# v1beta1 still accepts the old names Borrow and Preempt for MayStopSearch.
_FUNGIBILITY = ("MayStopSearch", "TryNextFlavor")


def _fungibility(version: str, old_name: str) -> tuple[str, ...]:
    return (*_FUNGIBILITY, old_name) if version == "v1beta1" else _FUNGIBILITY


def resource_groups(owner: str) -> Schema:
    """``spec.resourceGroups`` of a ClusterQueue or Cohort: quotas per flavor and resource."""
    quota = obj(
        "The quota of one resource in one flavor.",
        {
            "name": qualified_name("The resource, e.g. cpu, memory or nvidia.com/gpu."),
            "nominalQuota": quantity(f"What the {owner} is guaranteed of this resource."),
            "borrowingLimit": quantity(
                "At most this much more than the nominal quota may be borrowed from the "
                "cohort; unset means no limit."
            ),
            "lendingLimit": quantity(
                "At most this much of the nominal quota is lent to the cohort; unset means all."
            ),
        },
        required=("name", "nominalQuota"),
    )
    flavor = obj(
        "The quotas of one ResourceFlavor, one per covered resource, in the same order.",
        {
            "name": name_ref("The ResourceFlavor."),
            "resources": array("Quota per resource.", quota, min_items=1, max_items=64),
        },
        required=("name", "resources"),
    )
    group = obj(
        "Resources whose flavors are chosen together, and the flavors to choose from in order.",
        {
            "coveredResources": array(
                "The resources of the group.",
                qualified_name("A resource."),
                min_items=1,
                max_items=64,
            ),
            "flavors": array("Flavors, tried in this order.", flavor, min_items=1, max_items=64),
        },
        required=("coveredResources", "flavors"),
    )
    return array("Quotas, by groups of resources.", group, max_items=16)


def _fair_sharing() -> Schema:
    return obj(
        "Fair sharing settings.",
        {
            "weight": quantity(
                "The share of unused cohort capacity this queue may take, relative to others; "
                "0 means it borrows only what no one else wants."
            )
        },
        rules=("fair-sharing-weight",),
    )


def _usage(with_borrowed: bool) -> Schema:
    resource = {
        "name": string("The resource."),
        "total": quantity("How much of it is in use."),
    }
    if with_borrowed:
        resource["borrowed"] = quantity("How much of that is above the nominal quota.")
    return array(
        "Usage per flavor.",
        obj(
            "Usage of one flavor.",
            {
                "name": name_ref("The ResourceFlavor."),
                "resources": array("Usage per resource.", obj("One resource.", resource)),
            },
        ),
        max_items=64,
    )


def _queue_counts() -> dict[str, Schema]:
    return {
        "pendingWorkloads": integer("Workloads waiting for quota.", minimum=0),
        "reservingWorkloads": integer("Workloads holding quota.", minimum=0),
        "admittedWorkloads": integer("Admitted Workloads that have not finished.", minimum=0),
    }


def _flavor_fungibility(version: str) -> Schema:
    return obj(
        "Whether to try the next flavor instead of borrowing or preempting.",
        {
            "whenCanBorrow": string(
                "When borrowing would fit.",
                enum=_fungibility(version, "Borrow"),
                default="MayStopSearch",
            ),
            "whenCanPreempt": string(
                "When preempting would fit.",
                enum=_fungibility(version, "Preempt"),
                default="TryNextFlavor",
            ),
            "preference": string(
                "Which to prefer when both flavors need something.",
                enum=("BorrowingOverPreemption", "PreemptionOverBorrowing"),
            ),
        },
        rules=("preference-needs-try-next-flavor",),
        default={},
    )


def _preemption() -> Schema:
    policy = ("Never", "LowerPriority", "Any")
    return obj(
        "Which Workloads an incoming one may preempt.",
        {
            "reclaimWithinCohort": string(
                "Preempt Workloads of other ClusterQueues borrowing this queue's quota.",
                enum=policy,
                default="Never",
            ),
            "borrowWithinCohort": obj(
                "Preempt in other ClusterQueues in order to borrow.",
                {
                    "policy": string("Never or LowerPriority.", enum=policy[:2], default="Never"),
                    "maxPriorityThreshold": integer(
                        "Only Workloads of at most this priority are preempted."
                    ),
                },
                default={},
            ),
            "withinClusterQueue": string(
                "Preempt Workloads of this ClusterQueue.",
                enum=("Never", "LowerPriority", "LowerOrNewerEqualPriority"),
                default="Never",
            ),
        },
        rules=("reclaim-never-borrow-never",),
        default={},
    )


def cluster_queue(version: str) -> Schema:
    spec: dict[str, Schema] = {
        "resourceGroups": resource_groups("ClusterQueue"),
        ("cohort" if version == "v1beta1" else "cohortName"): name_ref(
            "The cohort whose members lend to and borrow from each other."
        ),
        "queueingStrategy": string(
            "StrictFIFO: the oldest Workload of the highest priority blocks the rest; "
            "BestEffortFIFO: Workloads that cannot be admitted do not block the others.",
            enum=("StrictFIFO", "BestEffortFIFO"),
            default="BestEffortFIFO",
        ),
        "namespaceSelector": label_selector("Namespaces whose Workloads may be admitted."),
        "flavorFungibility": _flavor_fungibility(version),
        "preemption": _preemption(),
        "stopPolicy": string(
            "Hold stops admitting; HoldAndDrain also evicts what is admitted.",
            enum=("None", "Hold", "HoldAndDrain"),
            default="None",
        ),
        "fairSharing": _fair_sharing(),
        "admissionChecksStrategy": free_object("Admission checks and the flavors they apply to."),
        "admissionScope": free_object("What admission considers besides quota."),
    }
    if version == "v1beta1":
        spec["admissionChecks"] = array("Admission checks (deprecated).", {"type": "string"})
    status = {
        "conditions": conditions("Active says whether the ClusterQueue can admit Workloads."),
        "flavorsReservation": _usage(True),
        "flavorsUsage": _usage(True),
        **_queue_counts(),
        "fairSharing": obj(
            "Fair sharing state.",
            {"weightedShare": integer("The queue's weighted share of the cohort.", fmt="int64")},
        ),
    }
    return kind_schema(
        "ClusterQueue",
        version,
        "A pool of quota that Workloads from LocalQueues are admitted against.",
        {
            "spec": obj(
                "What the ClusterQueue guarantees, lends and borrows.",
                spec,
                rules=("cluster-queue-resource-groups",),
            ),
            "status": obj("What the ClusterQueue holds now.", status),
        },
    )


def cohort(version: str) -> Schema:
    spec = obj(
        "The cohort's own quota and its parent.",
        {
            "parentName": name_ref("The parent cohort."),
            "resourceGroups": resource_groups("Cohort"),
            "fairSharing": _fair_sharing(),
        },
        rules=("cohort-resource-groups",),
    )
    return kind_schema(
        "Cohort",
        version,
        "A group of ClusterQueues (and Cohorts) that lend to and borrow from each other.",
        {"spec": spec, "status": free_object("The cohort's state.")},
    )


def local_queue(version: str) -> Schema:
    usage = _usage(False)
    status: dict[str, Schema] = {
        "conditions": conditions("Active says whether Workloads can be submitted."),
        **_queue_counts(),
        "flavorsReservation": usage,
        ("flavorUsage" if version == "v1beta1" else "flavorsUsage"): usage,
        "fairSharing": free_object("Fair sharing state."),
    }
    if version == "v1beta1":
        status["flavors"] = free_object("Flavors of the ClusterQueue (deprecated).")
    spec = {
        "clusterQueue": name_ref("The ClusterQueue that admits its Workloads."),
        "stopPolicy": string(
            "Hold stops admitting; HoldAndDrain also evicts.",
            enum=("None", "Hold", "HoldAndDrain"),
            default="None",
        ),
        "fairSharing": _fair_sharing(),
    }
    return kind_schema(
        "LocalQueue",
        version,
        "A namespace's queue: Workloads submitted to it are admitted by its ClusterQueue.",
        {
            "spec": obj("The ClusterQueue behind the queue.", spec),
            "status": obj("What the queue holds now.", status),
        },
    )


def resource_flavor(version: str) -> Schema:
    return kind_schema(
        "ResourceFlavor",
        version,
        "A kind of node (an instance type, a zone) that quota is given in.",
        {
            "spec": obj(
                "The nodes of the flavor.",
                {
                    "nodeLabels": string_map("Labels the flavor's nodes carry.", max_properties=8),
                    "nodeTaints": array("Taints of the flavor's nodes.", free_object("A taint.")),
                    "tolerations": array(
                        "Tolerations added to admitted pods.", free_object("A toleration.")
                    ),
                    "topologyName": name_ref("The Topology of the flavor's nodes."),
                },
            )
        },
    )


def workload_priority_class(version: str) -> Schema:
    return kind_schema(
        "WorkloadPriorityClass",
        version,
        "A named priority for Workloads, independent of pod priority.",
        {
            "value": integer("The priority; higher is admitted first and preempts lower."),
            "description": string("What the class is for.", max_length=2048),
        },
        required=("value",),
    )
