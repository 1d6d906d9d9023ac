"""Discovery documents and server-side tables, so ``kubectl get workloads -A`` works."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

GROUP = "kueue.x-k8s.io"

_RESOURCES: list[tuple[str, str, bool, list[str]]] = [
    ("workloads", "Workload", True, ["wl"]),
    ("clusterqueues", "ClusterQueue", False, ["cq"]),
    ("localqueues", "LocalQueue", True, ["queue", "queues", "lq"]),
    ("resourceflavors", "ResourceFlavor", False, ["flavor", "flavors", "rf"]),
    ("workloadpriorityclasses", "WorkloadPriorityClass", False, []),
    ("cohorts", "Cohort", False, []),
]


def api_group_list() -> dict[str, Any]:
    versions = [{"groupVersion": f"{GROUP}/{v}", "version": v} for v in ("v1beta2", "v1beta1")]
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "kind": "APIGroup",
                "apiVersion": "v1",
                "name": GROUP,
                "versions": versions,
                "preferredVersion": versions[0],
            }
        ],
    }


def api_resource_list(version: str) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{GROUP}/{version}",
        "resources": [
            {
                "name": plural,
                "singularName": kind.lower(),
                "namespaced": namespaced,
                "kind": kind,
                "verbs": ["get", "list", "watch"],
                "shortNames": short,
                "categories": ["kueue"],
            }
            for plural, kind, namespaced, short in _RESOURCES
        ],
    }


def _age(created: str | None) -> str:
    if not created:
        return "<unknown>"
    seconds = int(
        (datetime.now(UTC) - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds()
    )
    seconds = max(seconds, 0)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 3 * 3600:
        return f"{seconds // 60}m"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == type_:
            return condition
    return None


def _workload_cells(obj: dict[str, Any]) -> list[Any]:
    reserved = _condition(obj, "QuotaReserved")
    admitted = _condition(obj, "Admitted")
    finished = _condition(obj, "Finished")
    cluster_queue = ((obj.get("status") or {}).get("admission") or {}).get("clusterQueue", "")
    return [
        obj["metadata"]["name"],
        (obj.get("spec") or {}).get("queueName", ""),
        cluster_queue if reserved and reserved.get("status") == "True" else "",
        admitted.get("status", "") if admitted else "",
        finished.get("status", "") if finished else "",
        _age(obj["metadata"].get("creationTimestamp")),
    ]


def table_for(resource: str, listing: dict[str, Any]) -> dict[str, Any]:
    """A meta.k8s.io/v1 Table, with Kueue's printer columns for Workloads."""
    if resource == "workloads":
        names = ["Name", "Queue", "Reserved in", "Admitted", "Finished", "Age"]
        cells = _workload_cells
    else:
        names = ["Name", "Age"]

        def cells(obj: dict[str, Any]) -> list[Any]:
            return [obj["metadata"]["name"], _age(obj["metadata"].get("creationTimestamp"))]

    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": listing["metadata"]["resourceVersion"]},
        "columnDefinitions": [
            {
                "name": name,
                "type": "string",
                "format": "name" if name == "Name" else "",
                "description": name,
                "priority": 0,
            }
            for name in names
        ],
        "rows": [
            {
                "cells": cells(item),
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": item["metadata"],
                },
            }
            for item in listing["items"]
        ],
    }
