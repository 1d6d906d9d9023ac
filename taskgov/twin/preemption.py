"""Choosing preemption victims, as Kueue's ``pkg/scheduler/preemption``.

Classical preemption gathers candidates from the ClusterQueue (``withinClusterQueue``) and
from borrowing queues of the cohort tree (``reclaimWithinCohort``, ``borrowWithinCohort``),
orders them (lower priority, then most recently admitted), removes them one by one until
the workload fits, then adds back all it can (the minimal victim set). Fair sharing picks
targets from the queue with the highest dominant resource share instead
(``taskgov.twin.fair_preemption``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from taskgov.twin.contenders import Preemptor, Running
from taskgov.twin.objects import FlavorResource
from taskgov.twin.one_resource import OneResourceSearch
from taskgov.twin.quota import QuotaNode
from taskgov.twin.usage_view import FlatCohortView, is_flat_cohort_member

IN_CLUSTER_QUEUE = "InClusterQueue"
IN_COHORT_RECLAMATION = "InCohortReclamation"
IN_COHORT_FAIR_SHARING = "InCohortFairSharing"
IN_COHORT_RECLAIM_WHILE_BORROWING = "InCohortReclaimWhileBorrowing"


@dataclass(slots=True)
class Target:
    workload: Running
    reason: str


@dataclass(slots=True)
class _Candidate:
    workload: Running
    reason: str
    # Candidates only usable while the preemptor does not borrow.
    without_borrowing: bool = False


def policy_allows(policy: str, preemptor: Preemptor, candidate: Running) -> bool:
    if policy == "Any":
        return True
    if policy == "LowerPriority":
        return candidate.priority < preemptor.priority
    if policy == "LowerOrNewerEqualPriority":
        return candidate.priority < preemptor.priority or (
            candidate.priority == preemptor.priority and preemptor.created_ms < candidate.created_ms
        )
    return False


def candidate_key(candidate: Running, preemptor_queue: str) -> tuple[bool, int, int, str]:
    """Kueue's CandidatesOrdering: other queues first, lower priority, newest admission."""
    return (
        candidate.cluster_queue == preemptor_queue,
        candidate.priority,
        -candidate.reserved_ms,
        candidate.uid,
    )


class Snapshot:
    """The quota tree and admitted workloads one preemption decision may change and restore."""

    def __init__(self, nodes: dict[str, QuotaNode], running: dict[str, list[Running]]) -> None:
        self.nodes = nodes
        self.running = running
        # The preemptor's queue while a victim search runs (see ``still_borrowing``).
        self.preemptor_node: QuotaNode | None = None
        # Per (queue, preemptor queue): their common ancestor (the tree is fixed).
        self._stops: dict[tuple[str, str], QuotaNode | None] = {}

    def still_borrowing(self, cluster_queue: str, frs: set[FlavorResource]) -> bool:
        """Whether the queue, and each cohort below its common ancestor with the preemptor's
        queue, still borrows (Kueue only takes from queues that do)."""
        node, preemptor_node = self.nodes[cluster_queue], self.preemptor_node
        assert preemptor_node is not None
        key = (cluster_queue, preemptor_node.name)
        if key in self._stops:
            stop = self._stops[key]
        else:
            stop = self._stops[key] = _common_ancestor(node, preemptor_node)
        return _still_borrowing(node, frs, stop)

    def remove(self, workload: Running) -> None:
        node = self.nodes[workload.cluster_queue]
        for fr, amount in workload.usage.items():
            node.add_usage(fr, -amount)

    def add(self, workload: Running) -> None:
        node = self.nodes[workload.cluster_queue]
        for fr, amount in workload.usage.items():
            node.add_usage(fr, amount)

    def fits(self, preemptor: Preemptor, allow_borrowing: bool) -> bool:
        """Whether the preemptor fits now (the cheap own-quota test first; the result is one)."""
        node = preemptor.node
        usage = preemptor.usage
        if not allow_borrowing:
            for fr, amount in usage.items():
                if node.usage.get(fr, 0) + amount > node.nominal(fr):
                    return False
        return all(node.available(fr) >= amount for fr, amount in usage.items())


def uses_any(workload: Running, frs: set[FlavorResource]) -> bool:
    return any(fr in frs for fr in workload.usage)


def _still_borrowing(node: QuotaNode, frs: set[FlavorResource], stop: QuotaNode | None) -> bool:
    """The candidate's queue, and every cohort below the common ancestor, is above nominal."""
    current: QuotaNode | None = node
    while current is not None and current is not stop:
        if not any(current.borrowing(fr) for fr in frs):
            return False
        current = current.parent
    return True


def _common_ancestor(a: QuotaNode, b: QuotaNode) -> QuotaNode | None:
    ancestors = set()
    node: QuotaNode | None = a
    while node is not None:
        ancestors.add(id(node))
        node = node.parent
    node = b
    while node is not None:
        if id(node) in ancestors:
            return node
        node = node.parent
    return None


def _fit_in_quota(node: QuotaNode, requests: dict[FlavorResource, int]) -> bool:
    return all(
        node.usage.get(fr, 0) + amount <= node.subtree_quota.get(fr, 0)
        for fr, amount in requests.items()
    )


def _taken_while_borrowing(preemptor: Preemptor, workload: Running) -> bool:
    """Whether ``borrowWithinCohort`` lets the preemptor take the workload while it borrows."""
    policy = preemptor.cluster_queue.preemption
    threshold = policy.max_priority_threshold
    return not (
        policy.borrow_within_cohort == "Never"
        or workload.priority >= preemptor.priority
        or (threshold is not None and workload.priority > threshold)
    )


def _borrowing_candidate(preemptor: Preemptor, workload: Running) -> _Candidate:
    """A candidate when the preemptor would have to borrow: ``borrowWithinCohort`` decides."""
    if _taken_while_borrowing(preemptor, workload):
        return _Candidate(workload, IN_COHORT_RECLAIM_WHILE_BORROWING)
    return _Candidate(workload, IN_COHORT_RECLAMATION, without_borrowing=True)


class CandidateCache:
    """The workloads of borrowing queues below a cohort, sorted once per state of the cluster.

    Every head of a cycle is nominated against the same start-of-cycle state, so the cohort's
    reclaimable workloads, in Kueue's candidate order (lower priority, then most recently
    admitted), are the same for all of them; each preemptor then takes the part its
    ``reclaimWithinCohort`` policy allows (a prefix, the order being by priority first).
    """

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._lists: dict[tuple[int, frozenset[FlavorResource]], tuple[list[Running], list[int]]]
        self._lists = {}

    def below(
        self, ancestor: QuotaNode, frs: set[FlavorResource]
    ) -> tuple[list[Running], list[int]]:
        """(workloads, their priorities) of the queues still borrowing below ``ancestor``."""
        key = (id(ancestor), frozenset(frs))
        cached = self._lists.get(key)
        if cached is None:
            running = self.snapshot.running
            found = [
                w
                for queue in ancestor.cluster_queues()
                if _still_borrowing(queue, frs, ancestor)
                for w in running.get(queue.name, [])
                if uses_any(w, frs)
            ]
            found.sort(key=lambda w: (w.priority, -w.reserved_ms, w.uid))
            cached = (found, [w.priority for w in found])
            self._lists[key] = cached
        return cached


def _level_candidates(
    preemptor: Preemptor,
    snapshot: Snapshot,
    ancestor: QuotaNode,
    visited: QuotaNode,
    cache: CandidateCache | None,
) -> list[Running]:
    """Reclaimable workloads below ``ancestor`` outside ``visited``, in candidate order."""
    frs, policy = preemptor.frs_need_preemption, preemptor.cluster_queue.preemption
    cache = cache or CandidateCache(snapshot)
    found, priorities = cache.below(ancestor, frs)
    if policy.reclaim_within_cohort == "LowerPriority":
        found = found[: bisect_left(priorities, preemptor.priority)]
    elif policy.reclaim_within_cohort != "Any":
        found = [w for w in found if policy_allows(policy.reclaim_within_cohort, preemptor, w)]
    if visited.is_cluster_queue:
        return [w for w in found if w.cluster_queue != visited.name]
    excluded = {queue.name for queue in visited.cluster_queues()}
    return [w for w in found if w.cluster_queue not in excluded]


def _cohort_candidates(
    preemptor: Preemptor, snapshot: Snapshot, cache: CandidateCache | None
) -> tuple[list[Running], list[Running]]:
    """Workloads of borrowing queues in the cohort tree: (hierarchical reclaim, by priority)."""
    node, policy = preemptor.node, preemptor.cluster_queue.preemption
    hierarchy: list[Running] = []
    by_priority: list[Running] = []
    has_advantage = _fit_in_quota(node, preemptor.usage)
    if node.parent is not None and policy.reclaim_within_cohort != "Never":
        remaining = {
            fr: amount - node.local_available(fr) for fr, amount in preemptor.usage.items()
        }
        visited: QuotaNode = node
        ancestor: QuotaNode | None = node.parent
        while ancestor is not None:
            found = _level_candidates(preemptor, snapshot, ancestor, visited, cache)
            (hierarchy if has_advantage else by_priority).extend(found)
            remaining = {
                fr: amount - ancestor.local_available(fr) for fr, amount in remaining.items()
            }
            has_advantage = has_advantage or _fit_in_quota(ancestor, remaining)
            visited = ancestor
            ancestor = ancestor.parent
    return hierarchy, by_priority


def classical_targets(
    preemptor: Preemptor, snapshot: Snapshot, cache: CandidateCache | None = None
) -> list[Target]:
    """Victims for ``preemptor`` with Kueue's classical rules; empty when none suffice.

    ``cache`` holds the cohort's sorted candidates while the cluster's state stays unchanged.
    """
    cq = preemptor.cluster_queue
    node = preemptor.node
    frs = preemptor.frs_need_preemption
    policy = cq.preemption
    same_queue: list[Running] = []
    if policy.within_cluster_queue != "Never":
        same_queue = [
            w
            for w in snapshot.running.get(cq.name, [])
            if policy_allows(policy.within_cluster_queue, preemptor, w) and uses_any(w, frs)
        ]
        same_queue.sort(key=lambda w: candidate_key(w, cq.name))
    hierarchy, by_priority = _cohort_candidates(preemptor, snapshot, cache)
    if node.parent is not None and node.parent.parent is not None:
        # Candidates of several cohort levels: one order over all of them.
        hierarchy.sort(key=lambda w: candidate_key(w, cq.name))
        by_priority.sort(key=lambda w: candidate_key(w, cq.name))
    if not (hierarchy or by_priority or same_queue):
        return []

    def candidates() -> Iterator[_Candidate]:
        """In Kueue's order; built as consumed, since few are usually needed."""
        for w in hierarchy:
            yield _Candidate(w, IN_COHORT_RECLAMATION)
        for w in by_priority:
            yield _borrowing_candidate(preemptor, w)
        for w in same_queue:
            yield _Candidate(w, IN_CLUSTER_QUEUE)

    borrow_forbidden = policy.borrow_within_cohort == "Never"
    others = bool(hierarchy or by_priority)
    under_nominal = all(
        node.usage.get(fr, 0) < node.nominal(fr) for fr in preemptor.frs_need_preemption
    )
    if not others or (borrow_forbidden and not under_nominal):
        attempts = [True]
    elif borrow_forbidden and not hierarchy:
        attempts = [False, True]
    else:
        attempts = [True, False]
    flat = is_flat_cohort_member(node)
    for allow_borrowing in attempts:
        if flat:
            targets = _flat_minimal_set(
                preemptor, snapshot, (hierarchy, by_priority, same_queue), allow_borrowing
            )
        else:
            targets = _minimal_set(preemptor, snapshot, candidates(), allow_borrowing)
        if targets:
            return targets
    return []


def _flat_minimal_set(
    preemptor: Preemptor,
    snapshot: Snapshot,
    groups: tuple[list[Running], list[Running], list[Running]],
    allow_borrowing: bool,
) -> list[Target]:
    """:func:`_minimal_set` in a one-level cohort, on a :class:`FlatCohortView`.

    The same candidates in the same order, the same fits and still-borrowing tests and the
    same fill-back, so the same victims in the same order; the tree is not touched.
    """
    hierarchy, by_priority, same_queue = groups
    # One cohort level: its candidates are all in one of the two lists.
    assert not (hierarchy and by_priority)
    if allow_borrowing:
        by_priority = [w for w in by_priority if _taken_while_borrowing(preemptor, w)]
    others = hierarchy or by_priority
    victims: list[Running]
    if len(preemptor.usage) == 1 and preemptor.frs_need_preemption == set(preemptor.usage):
        search = OneResourceSearch(preemptor, snapshot.nodes)
        removed = search.remove_until_fits(others, same_queue, allow_borrowing)
        victims = search.fill_back(removed, allow_borrowing) if removed else []
    else:
        view = FlatCohortView(preemptor.node, snapshot.nodes)
        removed = view.remove_until_fits(preemptor, others, same_queue, allow_borrowing)
        victims = view.fill_back(preemptor, removed, allow_borrowing) if removed else []
    own = preemptor.cluster_queue.name
    targets = []
    for workload in victims:
        if workload.cluster_queue == own:
            reason = IN_CLUSTER_QUEUE
        elif hierarchy:
            reason = IN_COHORT_RECLAMATION
        else:
            reason = _borrowing_candidate(preemptor, workload).reason
        targets.append(Target(workload, reason))
    return targets


def _minimal_set(
    preemptor: Preemptor,
    snapshot: Snapshot,
    candidates: Iterable[_Candidate],
    allow_borrowing: bool,
) -> list[Target]:
    """Remove candidates in order until the preemptor fits, then fill back what is not needed."""
    removed: list[_Candidate] = []
    own, frs = preemptor.cluster_queue.name, preemptor.frs_need_preemption
    snapshot.preemptor_node = preemptor.node
    for candidate in candidates:
        workload = candidate.workload
        name = workload.cluster_queue
        if name != own:
            if allow_borrowing and candidate.without_borrowing:
                continue
            if not snapshot.still_borrowing(name, frs):
                continue
        snapshot.remove(workload)
        removed.append(candidate)
        if snapshot.fits(preemptor, allow_borrowing):
            break
    else:
        for candidate in removed:
            snapshot.add(candidate.workload)
        return []
    targets = fill_back(
        preemptor, snapshot, [Target(c.workload, c.reason) for c in removed], allow_borrowing
    )
    for target in targets:
        snapshot.add(target.workload)
    return targets


def fill_back(
    preemptor: Preemptor, snapshot: Snapshot, targets: list[Target], allow_borrowing: bool
) -> list[Target]:
    """Kueue's ``fillBackWorkloads``: add back, newest choice first, every victim not needed.

    ``targets`` are removed from ``snapshot``; those returned still are.
    """
    targets = list(targets)
    for i in range(len(targets) - 2, -1, -1):
        snapshot.add(targets[i].workload)
        if snapshot.fits(preemptor, allow_borrowing):
            targets[i] = targets[-1]
            targets.pop()
        else:
            snapshot.remove(targets[i].workload)
    return targets
