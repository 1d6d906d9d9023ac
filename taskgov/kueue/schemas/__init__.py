"""OpenAPI schemas of Kueue's kinds, per API version, written from Kueue's API types.

``schema(kind, version)`` is what the twin serves at ``/openapi/v3`` (``kubectl explain``) and
the one encoding of Kueue's field rules: ``compile`` turns it into the checks (``checks``, with
the rules across fields in ``rules``) that the scenario reader, the twin's ClusterQueue patches
and ``validate`` run, and ``defaults`` fills in its defaults as the API server does.
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

GROUP = "kueue.x-k8s.io"
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


def served_version(api_version: object, kind: object) -> str | None:
    """The version (``v1beta2``) of a manifest of a Kueue kind this package has a schema of."""
    group, _, version = str(api_version).partition("/")
    known = group == GROUP and version in VERSIONS and kind in BUILDERS
    return version if known else None


__all__ = ["BUILDERS", "GROUP", "VERSIONS", "Schema", "schema", "served_version"]
