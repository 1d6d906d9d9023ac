"""OpenAPI schemas of Kueue's kinds, per API version, written from Kueue's API types.

``schema(kind, version)`` is what the twin serves at ``/openapi/v3`` and what
``taskgov.kueue.schemas.validate`` checks manifests against.
"""

from __future__ import annotations

from collections.abc import Callable

from taskgov.kueue.schemas.builders import Schema
from taskgov.kueue.schemas.queues import (
    cluster_queue,
    cohort,
    local_queue,
    resource_flavor,
    workload_priority_class,
)
from taskgov.kueue.schemas.workload import workload

VERSIONS = ("v1beta1", "v1beta2")
BUILDERS: dict[str, Callable[[str], Schema]] = {
    "Workload": workload,
    "ClusterQueue": cluster_queue,
    "LocalQueue": local_queue,
    "ResourceFlavor": resource_flavor,
    "WorkloadPriorityClass": workload_priority_class,
    "Cohort": cohort,
}
_CACHE: dict[tuple[str, str], Schema] = {}


def schema(kind: str, version: str) -> Schema:
    """The schema of ``kind`` in ``version``; built once, never to be mutated by callers."""
    key = (kind, version)
    if key not in _CACHE:
        _CACHE[key] = BUILDERS[kind](version)
    return _CACHE[key]


__all__ = ["BUILDERS", "VERSIONS", "Schema", "schema"]
