"""Pending workloads per ClusterQueue, as Kueue's queue manager (``pkg/cache/queue``).

Each ClusterQueue keeps its queued workloads grouped by scheduling hash (Kueue's
``SchedulingEquivalenceHashing``), each group a heap in queue order (priority, then
creation). A group whose head was found inadmissible is parked: the whole group waits until
quota is released in the cohort tree (a flush). A workload is queued again with a new token,
so an older heap entry of it is skipped when it surfaces.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import NamedTuple

from taskgov.twin.objects import WorkloadSpec

SchedulingHash = tuple[object, ...]


class QueueEntry(NamedTuple):
    """A heap entry; the first three fields are Kueue's queue order, unique per workload."""

    negative_priority: int
    created_ms: int
    uid: str
    key: str
    token: int


def scheduling_hash(spec: WorkloadSpec) -> SchedulingHash:
    """What makes two workloads equivalent to the scheduler: priority and pod set shapes."""
    return (
        spec.priority,
        tuple(
            (
                ps.name,
                ps.count,
                tuple(sorted(ps.requests.items())),
                tuple(sorted(ps.node_selector.items())),
            )
            for ps in spec.pod_sets
        ),
    )


class QueueManager:
    """The queued workloads of every ClusterQueue, with parking and flushing."""

    def __init__(self, cluster_queues: Iterable[str], is_current: Callable[[QueueEntry], bool]):
        """``is_current(entry)`` says whether an entry is still its workload's live one."""
        names = sorted(cluster_queues)
        self._names = names
        self._groups: dict[str, dict[SchedulingHash, list[QueueEntry]]] = {n: {} for n in names}
        self._parked: dict[str, set[SchedulingHash]] = {n: set() for n in names}
        self._flushed_cycle: dict[str, int] = dict.fromkeys(names, 0)
        # ClusterQueues that may hold an unparked queued workload; the others are skipped.
        self._active: set[str] = set()
        self._is_current = is_current

    def push(self, cluster_queue: str, equivalence: SchedulingHash, entry: QueueEntry) -> None:
        group = self._groups[cluster_queue].setdefault(equivalence, [])
        heapq.heappush(group, entry)
        if equivalence not in self._parked[cluster_queue]:
            self._active.add(cluster_queue)

    def heads(self) -> list[QueueEntry]:
        """Pop the best queued entry of each ClusterQueue whose group is not parked."""
        heads = []
        for name in sorted(self._active):
            entry = self._pop_head(name)
            if entry is None:
                self._active.discard(name)
            else:
                heads.append(entry)
        return heads

    def _pop_head(self, name: str) -> QueueEntry | None:
        groups, parked = self._groups[name], self._parked[name]
        best: QueueEntry | None = None
        best_hash: SchedulingHash | None = None
        for equivalence in list(groups):
            if equivalence in parked:
                continue
            group = groups[equivalence]
            while group and not self._is_current(group[0]):
                heapq.heappop(group)
            if not group:
                del groups[equivalence]
            elif best is None or group[0] < best:
                best, best_hash = group[0], equivalence
        if best is None or best_hash is None:
            return None
        heapq.heappop(groups[best_hash])
        return best

    def park(self, cluster_queue: str, equivalence: SchedulingHash) -> None:
        """Every workload equivalent to an inadmissible head waits for the next flush."""
        self._parked[cluster_queue].add(equivalence)

    def flush(self, cluster_queues: Iterable[str], cycle: int) -> None:
        """Quota was released: the parked groups of these ClusterQueues get another look."""
        for name in cluster_queues:
            self._flushed_cycle[name] = cycle
            if self._parked[name]:
                self._parked[name].clear()
                self._active.add(name)

    def flushed_since(self, cluster_queue: str, cycle: int) -> bool:
        """Whether a flush reached the ClusterQueue at or after ``cycle`` began."""
        return self._flushed_cycle[cluster_queue] >= cycle
