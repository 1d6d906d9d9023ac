"""Schema of the Workload, per version (v1beta2 names its priority class by ``priorityClassRef``).

Written from Kueue's ``workload_types.go``; the Pod template inside each pod set is Kubernetes'
own PodTemplateSpec and is left unchecked here (the API server checks it against the core
schema, which the twin does not serve).
"""

from __future__ import annotations

from taskgov.kueue.schemas.builders import (
    DNS_LABEL,
    DNS_SUBDOMAIN,
    Schema,
    array,
    boolean,
    conditions,
    free_object,
    integer,
    kind_schema,
    name_ref,
    obj,
    pod_template,
    quantity,
    string,
    string_map,
)

WORKLOAD_PRIORITY_SOURCE = "kueue.x-k8s.io/workloadpriorityclass"
POD_PRIORITY_SOURCE = "scheduling.k8s.io/priorityclass"


def _pod_set() -> Schema:
    return obj(
        "A group of identical pods, and how many of them the Workload needs.",
        {
            "name": string("The pod set's name.", pattern=DNS_LABEL, max_length=63),
            "count": integer("How many pods.", minimum=0, default=1),
            "minCount": integer(
                "Fewest pods the Workload can run with (partial admission).", minimum=1
            ),
            "template": pod_template("The Pod template: containers and their requests."),
            "topologyRequest": free_object("Where in the topology the pods must land."),
        },
        required=("count", "template"),
        rules=("min-count-at-most-count",),
    )


def _priority_fields(version: str) -> dict[str, Schema]:
    if version == "v1beta1":
        return {
            "priorityClassName": name_ref(
                "The priority class the priority came from (needs spec.priority)."
            ),
            "priorityClassSource": string(
                "Which kind of class priorityClassName names.",
                enum=(WORKLOAD_PRIORITY_SOURCE, POD_PRIORITY_SOURCE, ""),
                default="",
            ),
        }
    ref = obj(
        "The priority class the priority came from (needs spec.priority).",
        {
            "group": string(
                "kueue.x-k8s.io or scheduling.k8s.io.", enum=("kueue.x-k8s.io", "scheduling.k8s.io")
            ),
            "kind": string(
                "WorkloadPriorityClass or PriorityClass.",
                enum=("WorkloadPriorityClass", "PriorityClass"),
            ),
            "name": string(
                "The class's name.",
                pattern=DNS_SUBDOMAIN,
                max_length=253,
                min_length=1,
            ),
        },
        required=("group", "kind", "name"),
        rules=("priority-class-kind-matches-group",),
    )
    return {"priorityClassRef": ref}


def _admission() -> Schema:
    assignment = obj(
        "Flavors and usage of one pod set.",
        {
            "name": string("The pod set.", pattern=DNS_LABEL, max_length=63),
            "flavors": string_map(
                "The flavor each resource was assigned.", name_ref("A ResourceFlavor.")
            ),
            "resourceUsage": string_map(
                "What the pod set uses of each resource.", quantity("An amount.")
            ),
            "count": integer("Pods admitted.", minimum=0),
            "topologyAssignment": free_object("Where the pods were placed."),
            "delayedTopologyRequest": string("Pending or Ready.", enum=("Pending", "Ready")),
        },
        required=("name",),
    )
    return obj(
        "Where the Workload holds quota.",
        {
            "clusterQueue": name_ref("The ClusterQueue whose quota it holds."),
            "podSetAssignments": array("Per pod set.", assignment, max_items=18),
        },
        required=("clusterQueue", "podSetAssignments"),
    )


def _status(version: str) -> Schema:
    eviction = obj(
        "How often it was evicted for one reason.",
        {
            "reason": string("Why.", max_length=316),
            "underlyingCause": string("The cause behind the reason."),
            "count": integer("How often.", minimum=0),
        },
        required=("reason", "underlyingCause", "count"),
    )
    accumulated = (
        "accumulatedPastExexcutionTimeSeconds"
        if version == "v1beta1"
        else "accumulatedPastExecutionTimeSeconds"
    )
    return obj(
        "What became of the Workload.",
        {
            "conditions": conditions(
                "QuotaReserved, Admitted, Evicted, Preempted, Requeued, Finished."
            ),
            "admission": _admission(),
            "requeueState": obj(
                "When it is requeued after an eviction.",
                {
                    "count": integer("Requeues so far.", minimum=0),
                    "requeueAt": string("When.", fmt="date-time"),
                },
            ),
            "reclaimablePods": array("Pods that finished early.", free_object("A count.")),
            "admissionChecks": array("Admission check states.", free_object("A state.")),
            "resourceRequests": array("Requests per pod set.", free_object("Requests.")),
            accumulated: integer("Seconds it ran before its last eviction."),
            "schedulingStats": obj(
                "Scheduling statistics.",
                {"evictions": array("Evictions by reason.", eviction, max_items=256)},
            ),
            "clusterName": string("The MultiKueue worker it runs on.", max_length=256),
            "nominatedClusterNames": array("MultiKueue candidates.", {"type": "string"}),
            "unhealthyNodes": array("Nodes it must leave.", free_object("A node.")),
        },
    )


def workload(version: str) -> Schema:
    spec = obj(
        "What the Workload needs and where it queues.",
        {
            "podSets": array("The pods it needs.", _pod_set(), min_items=1, max_items=18),
            "queueName": string("The LocalQueue it is submitted to.", max_length=63),
            **_priority_fields(version),
            "priority": integer("Its priority; higher is admitted first."),
            "active": boolean("False deactivates it: it is evicted and not admitted."),
            "maximumExecutionTimeSeconds": integer(
                "It is deactivated after running this long.", minimum=1
            ),
            "preemptionGates": array(
                "Gates that hold back its preemptions.", free_object("A gate.")
            ),
        },
        required=("podSets",),
        rules=("priority-with-class", "unique-pod-set-names"),
    )
    return kind_schema(
        "Workload",
        version,
        "A job as Kueue queues and admits it: pod sets, requests, priority and queue.",
        {"spec": spec, "status": _status(version)},
    )
