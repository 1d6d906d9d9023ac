"""What the twin's API serves, named as Kueue's CRDs name it, and the discovery documents.

Plurals, kinds, scopes, short names and printer columns follow Kueue's CustomResourceDefinitions
(``config/components/crd/bases`` in kubernetes-sigs/kueue): so ``kubectl get kwl,cq,lq,wpc``
resolves exactly as on a cluster running Kueue, and ``kubectl get cq`` prints Kueue's columns.
Kueue's CRDs declare no categories, so none are served. Verbs are what the twin answers today.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskgov.twin.tables import AGE, PrinterColumn

GROUP = "kueue.x-k8s.io"
VERSIONS = ("v1beta2", "v1beta1")  # preferred first, as Kueue stores v1beta2
READ_VERBS = ("get", "list", "watch")

_PENDING = PrinterColumn(
    "Pending Workloads", ".status.pendingWorkloads", "integer", "Workloads waiting for quota."
)
_ADMITTED = PrinterColumn(
    "Admitted Workloads",
    ".status.admittedWorkloads",
    "integer",
    "Admitted Workloads that have not finished.",
    priority=1,
)
_STRATEGY = PrinterColumn(
    "Strategy",
    ".spec.queueingStrategy",
    "string",
    "How queued Workloads are ordered.",
    priority=1,
)


def _cluster_queue_columns(cohort_field: str) -> tuple[PrinterColumn, ...]:
    cohort = PrinterColumn(
        "Cohort", f".spec.{cohort_field}", "string", "The cohort the ClusterQueue belongs to."
    )
    return (cohort, _STRATEGY, _PENDING, _ADMITTED)


_WORKLOAD_COLUMNS = (
    PrinterColumn("Queue", ".spec.queueName", "string", "The LocalQueue it was submitted to."),
    PrinterColumn(
        "Reserved in",
        ".status.admission.clusterQueue",
        "string",
        "The ClusterQueue whose quota it holds.",
    ),
    PrinterColumn(
        "Admitted",
        ".status.conditions[?(@.type=='Admitted')].status",
        "string",
        "Whether it is admitted.",
    ),
    PrinterColumn(
        "Finished",
        ".status.conditions[?(@.type=='Finished')].status",
        "string",
        "Whether it has finished.",
    ),
    PrinterColumn(
        "Age", ".metadata.creationTimestamp", "date", "How long ago the Workload was created."
    ),
)
_LOCAL_QUEUE_COLUMNS = (
    PrinterColumn(
        "ClusterQueue", ".spec.clusterQueue", "string", "The ClusterQueue behind this queue."
    ),
    _PENDING,
    PrinterColumn(
        "Admitted Workloads",
        ".status.admittedWorkloads",
        "integer",
        "Admitted Workloads that have not finished.",
    ),
)
_PRIORITY_CLASS_COLUMNS = (
    PrinterColumn("Value", ".value", "integer", "The priority Workloads of this class get."),
)


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One served resource: its names, scope, verbs and per-version printer columns."""

    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...]
    columns_v1beta1: tuple[PrinterColumn, ...] = (AGE,)
    columns_v1beta2: tuple[PrinterColumn, ...] = (AGE,)
    verbs: tuple[str, ...] = READ_VERBS
    # Whether Kueue's CRD declares the ``status`` subresource (``<name>/status``).
    status_subresource: bool = True

    def columns(self, version: str) -> tuple[PrinterColumn, ...]:
        return self.columns_v1beta1 if version == "v1beta1" else self.columns_v1beta2


RESOURCE_TYPES: dict[str, ResourceType] = {
    r.plural: r
    for r in (
        ResourceType(
            "workloads",
            "Workload",
            True,
            ("kwl", "kueueworkload", "kueueworkloads"),
            _WORKLOAD_COLUMNS,
            _WORKLOAD_COLUMNS,
        ),
        ResourceType(
            "clusterqueues",
            "ClusterQueue",
            False,
            ("cq",),
            _cluster_queue_columns("cohort"),
            _cluster_queue_columns("cohortName"),
        ),
        ResourceType(
            "localqueues",
            "LocalQueue",
            True,
            ("queue", "queues", "lq"),
            _LOCAL_QUEUE_COLUMNS,
            _LOCAL_QUEUE_COLUMNS,
        ),
        ResourceType(
            "resourceflavors",
            "ResourceFlavor",
            False,
            ("flavor", "flavors", "rf"),
            status_subresource=False,
        ),
        ResourceType(
            "workloadpriorityclasses",
            "WorkloadPriorityClass",
            False,
            ("wpc",),
            _PRIORITY_CLASS_COLUMNS,
            _PRIORITY_CLASS_COLUMNS,
            status_subresource=False,
        ),
        ResourceType("cohorts", "Cohort", False, ("co",)),
    )
}


def api_versions() -> dict[str, Any]:
    """``/api``: the core group's versions."""
    return {
        "kind": "APIVersions",
        "apiVersion": "v1",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
    }


def api_group() -> dict[str, Any]:
    versions = [{"groupVersion": f"{GROUP}/{v}", "version": v} for v in VERSIONS]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": GROUP,
        "versions": versions,
        "preferredVersion": versions[0],
    }


def api_group_list() -> dict[str, Any]:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [api_group()]}


def api_resource_list(version: str) -> dict[str, Any]:
    """``/apis/kueue.x-k8s.io/<version>``: each resource with its names and verbs."""
    resources: list[dict[str, Any]] = []
    for r in RESOURCE_TYPES.values():
        resources.append(
            {
                "name": r.plural,
                "singularName": r.kind.lower(),
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": list(r.verbs),
                "shortNames": list(r.short_names),
            }
        )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{GROUP}/{version}",
        "resources": resources,
    }
