"""The two sides of a preemption: an admitted workload and the workload that needs room.

Kept apart from the victim search (``taskgov.twin.preemption``) so that the usage views it
runs on (``taskgov.twin.usage_view``) can name them without importing the search.
"""

from __future__ import annotations

from dataclasses import dataclass

from taskgov.twin.objects import ClusterQueue, FlavorResource
from taskgov.twin.quota import QuotaNode


@dataclass(eq=False, slots=True)
class Running:
    """An admitted workload as preemption sees it."""

    key: str
    uid: str
    cluster_queue: str
    priority: int
    created_ms: int
    reserved_ms: int
    usage: dict[FlavorResource, int]


@dataclass(slots=True)
class Preemptor:
    """The workload that needs room, with the quota it was assigned."""

    cluster_queue: ClusterQueue
    node: QuotaNode
    priority: int
    created_ms: int
    usage: dict[FlavorResource, int]
    frs_need_preemption: set[FlavorResource]
