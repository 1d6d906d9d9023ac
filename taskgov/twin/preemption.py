"""Choosing preemption victims, as Kueue's ``pkg/scheduler/preemption``.

Classical preemption gathers candidates from the ClusterQueue (``withinClusterQueue``) and
from borrowing queues of the cohort tree (``reclaimWithinCohort``, ``borrowWithinCohort``),
orders them (lower priority, then most recently admitted), removes them one by one until
the workload fits, then adds back all it can (the minimal victim set). Fair sharing picks
targets from the queue with the highest dominant resource share instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from taskgov.twin.objects import ClusterQueue, FlavorResource
from taskgov.twin.quota import QuotaNode

IN_CLUSTER_QUEUE = "InClusterQueue"
IN_COHORT_RECLAMATION = "InCohortReclamation"
IN_COHORT_FAIR_SHARING = "InCohortFairSharing"
IN_COHORT_RECLAIM_WHILE_BORROWING = "InCohortReclaimWhileBorrowing"


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
class Target:
    workload: Running
    reason: str


@dataclass(slots=True)
class Preemptor:
    """The workload that needs room, with the quota it was assigned."""

    cluster_queue: ClusterQueue
    node: QuotaNode
    priority: int
    created_ms: int
    usage: dict[FlavorResource, int]
    frs_need_preemption: set[FlavorResource]


@dataclass(slots=True)
class _Candidate:
    workload: Running
    reason: str
    # Candidates only usable while the preemptor does not borrow.
    without_borrowing: bool = False


def _policy_allows(policy: str, preemptor: Preemptor, candidate: Running) -> bool:
    if policy == "Any":
        return True
    if policy == "LowerPriority":
        return candidate.priority < preemptor.priority
    if policy == "LowerOrNewerEqualPriority":
        return candidate.priority < preemptor.priority or (
            candidate.priority == preemptor.priority and preemptor.created_ms < candidate.created_ms
        )
    return False


def _ordering_key(candidate: Running, preemptor_queue: str) -> tuple[bool, int, int, str]:
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

    def remove(self, workload: Running) -> None:
        node = self.nodes[workload.cluster_queue]
        for fr, amount in workload.usage.items():
            node.add_usage(fr, -amount)

    def add(self, workload: Running) -> None:
        node = self.nodes[workload.cluster_queue]
        for fr, amount in workload.usage.items():
            node.add_usage(fr, amount)

    def fits(self, preemptor: Preemptor, allow_borrowing: bool) -> bool:
        node = preemptor.node
        for fr, amount in preemptor.usage.items():
            if node.available(fr) < amount:
                return False
            if not allow_borrowing and node.usage.get(fr, 0) + amount > node.nominal(fr):
                return False
        return True


def _uses_any(workload: Running, frs: set[FlavorResource]) -> bool:
    return any(fr in frs for fr in workload.usage)


def _queues_below(node: QuotaNode, skip: QuotaNode | None) -> Iterable[QuotaNode]:
    if node is skip:
        return
    if node.is_cluster_queue:
        yield node
    for child in node.children:
        yield from _queues_below(child, skip)


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


def _borrowing_candidate(preemptor: Preemptor, workload: Running) -> _Candidate:
    """A candidate when the preemptor would have to borrow: ``borrowWithinCohort`` decides."""
    policy = preemptor.cluster_queue.preemption
    threshold = policy.max_priority_threshold
    if (
        policy.borrow_within_cohort == "Never"
        or workload.priority >= preemptor.priority
        or (threshold is not None and workload.priority > threshold)
    ):
        return _Candidate(workload, IN_COHORT_RECLAMATION, without_borrowing=True)
    return _Candidate(workload, IN_COHORT_RECLAIM_WHILE_BORROWING)


def _cohort_candidates(
    preemptor: Preemptor, snapshot: Snapshot
) -> tuple[list[_Candidate], list[_Candidate]]:
    """Workloads of borrowing queues in the cohort tree: (hierarchical reclaim, by priority)."""
    node, frs, policy = (
        preemptor.node,
        preemptor.frs_need_preemption,
        preemptor.cluster_queue.preemption,
    )
    hierarchy: list[_Candidate] = []
    by_priority: list[_Candidate] = []
    has_advantage = _fit_in_quota(node, preemptor.usage)
    if node.parent is not None and policy.reclaim_within_cohort != "Never":
        remaining = {
            fr: amount - node.local_available(fr) for fr, amount in preemptor.usage.items()
        }
        visited: QuotaNode = node
        ancestor: QuotaNode | None = node.parent
        while ancestor is not None:
            for queue in _queues_below(ancestor, visited):
                if not _still_borrowing(queue, frs, ancestor):
                    continue
                for w in snapshot.running.get(queue.name, []):
                    if not _uses_any(w, frs) or not _policy_allows(
                        policy.reclaim_within_cohort, preemptor, w
                    ):
                        continue
                    if has_advantage:
                        hierarchy.append(_Candidate(w, IN_COHORT_RECLAMATION))
                    else:
                        by_priority.append(_borrowing_candidate(preemptor, w))
            remaining = {
                fr: amount - ancestor.local_available(fr) for fr, amount in remaining.items()
            }
            has_advantage = has_advantage or _fit_in_quota(ancestor, remaining)
            visited = ancestor
            ancestor = ancestor.parent
    return hierarchy, by_priority


def classical_targets(preemptor: Preemptor, snapshot: Snapshot) -> list[Target]:
    """Victims for ``preemptor`` with Kueue's classical rules; empty when none suffice."""
    cq = preemptor.cluster_queue
    node = preemptor.node
    frs = preemptor.frs_need_preemption
    policy = cq.preemption
    same_queue: list[_Candidate] = []
    if policy.within_cluster_queue != "Never":
        same_queue = [
            _Candidate(w, IN_CLUSTER_QUEUE)
            for w in snapshot.running.get(cq.name, [])
            if _uses_any(w, frs) and _policy_allows(policy.within_cluster_queue, preemptor, w)
        ]
    hierarchy, by_priority = _cohort_candidates(preemptor, snapshot)
    for group in (hierarchy, by_priority, same_queue):
        group.sort(key=lambda c: _ordering_key(c.workload, cq.name))
    candidates = hierarchy + by_priority + same_queue
    if not candidates:
        return []
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
    for allow_borrowing in attempts:
        targets = _minimal_set(preemptor, snapshot, candidates, allow_borrowing)
        if targets:
            return targets
    return []


def _minimal_set(
    preemptor: Preemptor, snapshot: Snapshot, candidates: list[_Candidate], allow_borrowing: bool
) -> list[Target]:
    removed: list[_Candidate] = []
    fits = False
    for candidate in candidates:
        workload = candidate.workload
        if workload.cluster_queue != preemptor.cluster_queue.name:
            if allow_borrowing and candidate.without_borrowing:
                continue
            queue_node = snapshot.nodes[workload.cluster_queue]
            stop = _common_ancestor(queue_node, preemptor.node)
            if not _still_borrowing(queue_node, preemptor.frs_need_preemption, stop):
                continue
        snapshot.remove(workload)
        removed.append(candidate)
        if snapshot.fits(preemptor, allow_borrowing):
            fits = True
            break
    if not fits:
        for candidate in removed:
            snapshot.add(candidate.workload)
        return []
    for i in range(len(removed) - 2, -1, -1):
        snapshot.add(removed[i].workload)
        if snapshot.fits(preemptor, allow_borrowing):
            removed[i] = removed[-1]
            removed.pop()
        else:
            snapshot.remove(removed[i].workload)
    for candidate in removed:
        snapshot.add(candidate.workload)
    return [Target(c.workload, c.reason) for c in removed]


def dominant_resource_share(
    node: QuotaNode, extra: dict[FlavorResource, int] | None = None
) -> float:
    """Kueue's DRS: the largest borrowed/lendable ratio (x1000) divided by the weight."""
    if node.parent is None:
        return 0.0
    extra = extra or {}
    borrowed: dict[str, int] = {}
    for fr in set(node.usage) | set(extra):
        over = node.usage.get(fr, 0) + extra.get(fr, 0) - node.subtree_quota.get(fr, 0)
        if over > 0:
            borrowed[fr[1]] = borrowed.get(fr[1], 0) + over
    if not borrowed:
        return 0.0
    lendable: dict[str, int] = {}
    for fr in node.root().subtree_quota:
        lendable[fr[1]] = lendable.get(fr[1], 0) + node.parent.potential_available(fr)
    ratios = [amount * 1000 // lendable[r] for r, amount in borrowed.items() if lendable.get(r)]
    unweighted = max(ratios, default=0)
    if unweighted == 0:
        return 0.0
    if node.fair_sharing_weight == 0:
        return math.inf
    return unweighted / node.fair_sharing_weight


def _fair_pools(preemptor: Preemptor, snapshot: Snapshot) -> dict[str, list[_Candidate]]:
    """Candidates per queue: the preemptor's own, and those of borrowing queues in the tree."""
    cq, node, frs = preemptor.cluster_queue, preemptor.node, preemptor.frs_need_preemption
    policy = cq.preemption
    pools: dict[str, list[_Candidate]] = {}
    if policy.within_cluster_queue != "Never":
        own = [
            _Candidate(w, IN_CLUSTER_QUEUE)
            for w in snapshot.running.get(cq.name, [])
            if _uses_any(w, frs) and _policy_allows(policy.within_cluster_queue, preemptor, w)
        ]
        if own:
            pools[cq.name] = own
    if node.parent is not None and policy.reclaim_within_cohort != "Never":
        for queue in _queues_below(node.root(), node):
            if not any(queue.borrowing(fr) for fr in frs):
                continue
            found = [
                _Candidate(w, IN_COHORT_FAIR_SHARING)
                for w in snapshot.running.get(queue.name, [])
                if _uses_any(w, frs) and _policy_allows(policy.reclaim_within_cohort, preemptor, w)
            ]
            if found:
                pools[queue.name] = found
    for pool in pools.values():
        pool.sort(key=lambda c: _ordering_key(c.workload, cq.name))
    return pools


def fair_sharing_targets(
    preemptor: Preemptor, snapshot: Snapshot, strategies: tuple[str, ...]
) -> list[Target]:
    """Victims under fair sharing: from the queue with the highest share, while it holds."""
    cq = preemptor.cluster_queue
    node = preemptor.node
    frs = preemptor.frs_need_preemption
    pools = _fair_pools(preemptor, snapshot)
    targets: list[Target] = []
    retry: dict[str, list[_Candidate]] = {}

    def done() -> bool:
        return snapshot.fits(preemptor, allow_borrowing=True)

    def restore() -> None:
        for target in targets:
            snapshot.add(target.workload)

    while pools:
        name = max(
            pools,
            key=lambda q: (
                q == cq.name or any(snapshot.nodes[q].borrowing(fr) for fr in frs),
                dominant_resource_share(snapshot.nodes[q]),
                q,
            ),
        )
        candidate = pools[name].pop(0)
        if not pools[name]:
            del pools[name]
        if name == cq.name:
            snapshot.remove(candidate.workload)
            targets.append(Target(candidate.workload, IN_CLUSTER_QUEUE))
        elif not any(
            node.usage.get(fr, 0) + preemptor.usage.get(fr, 0) > node.subtree_quota.get(fr, 0)
            for fr in frs
        ):
            snapshot.remove(candidate.workload)
            targets.append(Target(candidate.workload, IN_COHORT_RECLAMATION))
        else:
            target_node = snapshot.nodes[name]
            preemptor_new = dominant_resource_share(node, preemptor.usage)
            snapshot.remove(candidate.workload)
            target_new = dominant_resource_share(target_node)
            if (
                strategies
                and strategies[0] == "LessThanOrEqualToFinalShare"
                and preemptor_new <= target_new
                or strategies
                and strategies[0] == "LessThanInitialShare"
                and preemptor_new < dominant_resource_share(target_node, candidate.workload.usage)
            ):
                targets.append(Target(candidate.workload, IN_COHORT_FAIR_SHARING))
            else:
                snapshot.add(candidate.workload)
                retry.setdefault(name, []).append(candidate)
                continue
        if done():
            restore()
            return targets
    if len(strategies) > 1:
        for name in sorted(retry, key=lambda q: -dominant_resource_share(snapshot.nodes[q])):
            candidate = retry[name][0]
            target_node = snapshot.nodes[name]
            target_old = dominant_resource_share(target_node)
            preemptor_new = dominant_resource_share(node, preemptor.usage)
            if preemptor_new < target_old:
                snapshot.remove(candidate.workload)
                targets.append(Target(candidate.workload, IN_COHORT_FAIR_SHARING))
                if done():
                    restore()
                    return targets
    restore()
    return []
