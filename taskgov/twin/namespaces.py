"""Core ``v1`` Namespaces, derived from the namespaces the twin's Kueue objects live in.

Clients expect the core group to serve something (``kubectl api-resources`` fails on an empty
``/api/v1``), and ``kubectl get namespaces`` is a fair question to ask a cluster: the twin
answers with every namespace that holds a LocalQueue or a Workload, created with its oldest
object.
"""

from __future__ import annotations

from typing import Any

from taskgov.twin.store import NAMESPACED, ObjectStore
from taskgov.twin.tables import AGE, PrinterColumn

NAMESPACE_COLUMNS = (
    PrinterColumn("Status", ".status.phase", "string", "The namespace's lifecycle phase."),
    AGE,
)


def core_resource_list() -> dict[str, Any]:
    """``/api/v1``: the one core resource the twin serves."""
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "namespaces",
                "singularName": "namespace",
                "namespaced": False,
                "kind": "Namespace",
                "verbs": ["get", "list"],
                "shortNames": ["ns"],
            }
        ],
    }


def namespaces(store: ObjectStore) -> tuple[list[dict[str, Any]], int]:
    """Every namespace holding a namespaced Kueue object, sorted by name, and the store version."""
    oldest: dict[str, str] = {}
    version = 0
    for resource in sorted(NAMESPACED):
        items, version = store.list(resource, lambda _: True)
        for item in items:
            metadata = item.get("metadata") or {}
            name, created = metadata.get("namespace"), str(metadata.get("creationTimestamp", ""))
            if name and (name not in oldest or created < oldest[name]):
                oldest[name] = created
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "creationTimestamp": created or None},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
        for name, created in sorted(oldest.items())
    ], version
