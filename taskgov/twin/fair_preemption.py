"""Preemption under fair sharing, as Kueue's ``pkg/scheduler/preemption`` (``fairPreemptions``).

KEP-1714. The candidates (the preemptor's own ClusterQueue under ``withinClusterQueue``, and
borrowing ClusterQueues of its cohort tree under ``reclaimWithinCohort``) are taken from the
ClusterQueue with the highest dominant resource share, walking the cohort tree the way
Kueue's ``TargetClusterQueueOrdering`` does. A candidate from another ClusterQueue is only
taken when the first strategy lets the preemptor's share after admission compare below the
target's (by :func:`compare_drs`, so weight 0 compares by unweighted ratio); the second
strategy (``LessThanInitialShare``) then gets one more try per ClusterQueue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from taskgov.twin.contenders import Preemptor, Running
from taskgov.twin.fair_sharing import (
    DRS,
    PreemptionStrategy,
    compare_drs,
    dominant_resource_share,
    strategy_allows,
    strategy_unsatisfiable,
)
from taskgov.twin.objects import FlavorResource
from taskgov.twin.preemption import (
    IN_CLUSTER_QUEUE,
    IN_COHORT_FAIR_SHARING,
    IN_COHORT_RECLAMATION,
    Snapshot,
    Target,
    candidate_key,
    fill_back,
    policy_allows,
    uses_any,
)
from taskgov.twin.quota import QuotaNode

NEGATIVE_DRS = DRS(1.0, -1.0, False)


def _candidates(preemptor: Preemptor, snapshot: Snapshot) -> list[Running]:
    """Kueue's ``findCandidates``: own queue by policy, then borrowing queues of the tree."""
    cq, node, frs = preemptor.cluster_queue, preemptor.node, preemptor.frs_need_preemption
    policy = cq.preemption
    found: list[Running] = []
    if policy.within_cluster_queue != "Never":
        found += [
            w
            for w in snapshot.running.get(cq.name, [])
            if policy_allows(policy.within_cluster_queue, preemptor, w) and uses_any(w, frs)
        ]
    if node.parent is not None and policy.reclaim_within_cohort != "Never":
        for queue in node.root().cluster_queues():
            if queue is node or not any(queue.borrowing(fr) for fr in frs):
                continue
            found += [
                w
                for w in snapshot.running.get(queue.name, [])
                if policy_allows(policy.reclaim_within_cohort, preemptor, w) and uses_any(w, frs)
            ]
    found.sort(key=lambda w: candidate_key(w, cq.name))
    return found


@dataclass
class _Ordering:
    """Kueue's ``TargetClusterQueueOrdering``: which ClusterQueue to take the next victim from."""

    preemptor: QuotaNode
    nodes: dict[str, QuotaNode]
    by_queue: dict[str, list[Running]]
    pruned_queues: set[str] = field(default_factory=set)
    pruned_cohorts: set[str] = field(default_factory=set)
    _ancestors: set[str] | None = None

    def ancestors(self) -> set[str]:
        """The names of the preemptor's cohorts, up to the root."""
        if self._ancestors is None:
            names, node = set(), self.preemptor.parent
            while node is not None:
                names.add(node.name)
                node = node.parent
            self._ancestors = names
        return self._ancestors

    def targets(self) -> Iterator[str]:
        """ClusterQueue names, one per victim wanted, until every queue is pruned."""
        if self.preemptor.parent is None:
            while self.preemptor.name not in self.pruned_queues and self.by_queue.get(
                self.preemptor.name
            ):
                yield self.preemptor.name
            return
        root = self.preemptor.root()
        on_path = self.ancestors()
        while root.name not in self.pruned_cohorts:
            name = self._next(root, on_path)
            if name is not None:
                yield name

    def _next(self, cohort: QuotaNode, on_path: set[str]) -> str | None:
        best_queue, best_queue_drs = None, NEGATIVE_DRS
        best_cohort, best_cohort_drs = None, NEGATIVE_DRS
        for child in cohort.children:
            if child.is_cluster_queue:
                if child.name in self.pruned_queues:
                    continue
                drs = dominant_resource_share(child)
                if (not drs.borrowing and child is not self.preemptor) or not self.by_queue.get(
                    child.name
                ):
                    self.pruned_queues.add(child.name)
                    continue
                order = compare_drs(drs, best_queue_drs)
                if order > 0 or (
                    order == 0
                    and best_queue is not None
                    and candidate_key(self.by_queue[child.name][-1], self.preemptor.name)
                    < candidate_key(self.by_queue[best_queue][-1], self.preemptor.name)
                ):
                    best_queue, best_queue_drs = child.name, drs
            elif child.name not in self.pruned_cohorts:
                drs = dominant_resource_share(child)
                if not drs.borrowing and child.name not in on_path:
                    self.pruned_cohorts.add(child.name)
                elif compare_drs(drs, best_cohort_drs) >= 0:
                    best_cohort, best_cohort_drs = child, drs
        if best_cohort is None and best_queue is None:
            self.pruned_cohorts.add(cohort.name)
            return None
        if best_cohort is not None and compare_drs(best_cohort_drs, best_queue_drs) >= 0:
            return self._next(best_cohort, on_path)
        return best_queue

    def pop(self, name: str) -> Running:
        """The next candidate of the queue (lists are kept reversed, best last)."""
        return self.by_queue[name].pop()


def _almost_lca(node: QuotaNode, lca: QuotaNode) -> QuotaNode:
    """The node just below the lowest common ancestor on ``node``'s path to the root."""
    current = node
    while current.parent is not None and current.parent is not lca:
        current = current.parent
    return current


def _shares(
    ordering: _Ordering, target: str, extra: dict[str, int] | None = None
) -> tuple[DRS, DRS]:
    """(preemptor's new share, target's share), each at the level below their common cohort."""
    on_path = ordering.ancestors()
    lca = ordering.nodes[target].parent
    while lca is not None and lca.name not in on_path:
        lca = lca.parent
    assert lca is not None
    preemptor_side = _almost_lca(ordering.preemptor, lca)
    target_side = _almost_lca(ordering.nodes[target], lca)
    return dominant_resource_share(preemptor_side), dominant_resource_share(target_side)


def _share_without(ordering: _Ordering, target: str, workload: Running, snapshot: Snapshot) -> DRS:
    """The target's share (below the common cohort) once ``workload`` is gone."""
    node = ordering.nodes[target]
    if node.parent is not None and node.parent.name in ordering.ancestors():
        # The target queue itself is below the common cohort: subtract without mutating.
        return dominant_resource_share(node, {fr: -a for fr, a in workload.usage.items()})
    snapshot.remove(workload)
    _, share = _shares(ordering, target)
    snapshot.add(workload)
    return share


@dataclass
class _Pass:
    """One run over the ordering: the victims taken so far and the candidates left to retry."""

    preemptor: Preemptor
    snapshot: Snapshot
    fits: Callable[[], bool]
    targets: list[Target] = field(default_factory=list)
    retry: list[Running] = field(default_factory=list)

    def take(self, workload: Running, reason: str) -> bool:
        self.snapshot.remove(workload)
        self.targets.append(Target(workload, reason))
        return self.fits()


def _ordering(preemptor: Preemptor, snapshot: Snapshot, candidates: list[Running]) -> _Ordering:
    by_queue: dict[str, list[Running]] = {}
    for workload in reversed(candidates):
        by_queue.setdefault(workload.cluster_queue, []).append(workload)
    return _Ordering(preemptor.node, snapshot.nodes, by_queue)


def _first_strategy(run: _Pass, candidates: list[Running], strategy: PreemptionStrategy) -> bool:
    """Kueue's ``runFirstFsStrategy``; True when the preemptor fits."""
    ordering = _ordering(run.preemptor, run.snapshot, candidates)
    within_nominal = not any(
        run.preemptor.node.borrowing(fr) for fr in run.preemptor.frs_need_preemption
    )
    for name in ordering.targets():
        if name == run.preemptor.node.name:
            if run.take(ordering.pop(name), IN_CLUSTER_QUEUE):
                return True
            continue
        if within_nominal:
            if run.take(ordering.pop(name), IN_COHORT_RECLAMATION):
                return True
            continue
        preemptor_new, target_old = _shares(ordering, name)
        if strategy_unsatisfiable(preemptor_new, target_old):
            run.retry += reversed(ordering.by_queue.pop(name))
            continue
        # Until a victim is taken nothing changes, so equal usages give equal verdicts.
        verdicts: dict[tuple[tuple[FlavorResource, int], ...], bool] = {}
        while ordering.by_queue.get(name):
            workload = ordering.pop(name)
            shape = tuple(sorted(workload.usage.items()))
            allowed = verdicts.get(shape)
            if allowed is None:
                target_new = _share_without(ordering, name, workload, run.snapshot)
                allowed = strategy_allows(strategy, preemptor_new, target_old, target_new)
                verdicts[shape] = allowed
            if allowed:
                if run.take(workload, IN_COHORT_FAIR_SHARING):
                    return True
                break
            run.retry.append(workload)
    return False


def _second_strategy(run: _Pass) -> bool:
    """Kueue's ``runSecondFsStrategy``: one LessThanInitialShare try per ClusterQueue."""
    ordering = _ordering(run.preemptor, run.snapshot, run.retry)
    for name in ordering.targets():
        preemptor_new, target_old = _shares(ordering, name)
        workload = ordering.pop(name)
        passed = strategy_allows(
            PreemptionStrategy.LESS_THAN_INITIAL_SHARE, preemptor_new, target_old, target_old
        )
        if passed and run.take(workload, IN_COHORT_FAIR_SHARING):
            return True
        ordering.pruned_queues.add(name)
    return False


def _hopeless(preemptor: Preemptor, snapshot: Snapshot) -> bool:
    """Whether no strategy can let this preemptor take anything, known without simulating.

    In a flat cohort, with no candidate in its own ClusterQueue and borrowing after admission,
    the preemptor takes only what a strategy allows; a ClusterQueue's share only falls as its
    workloads go, so when the preemptor's share already compares above every borrowing
    queue's current share, neither strategy passes for any candidate (Kueue would find that
    out one candidate at a time).
    """
    node, cq = preemptor.node, preemptor.cluster_queue
    root = node.parent
    if root is None or root.parent is not None:
        return False
    frs = preemptor.frs_need_preemption
    if not any(
        node.usage.get(fr, 0) + preemptor.usage.get(fr, 0) > node.subtree_quota.get(fr, 0)
        for fr in frs
    ):
        return False
    preemptor_new = dominant_resource_share(node, preemptor.usage)
    for queue in root.children:
        if not queue.is_cluster_queue:
            return False
        if queue is node or not snapshot.running.get(queue.name):
            continue
        if compare_drs(preemptor_new, dominant_resource_share(queue)) <= 0:
            return False
    within = cq.preemption.within_cluster_queue
    return within == "Never" or not any(
        policy_allows(within, preemptor, w) and uses_any(w, frs)
        for w in snapshot.running.get(cq.name, [])
    )


def fair_sharing_targets(
    preemptor: Preemptor, snapshot: Snapshot, strategies: tuple[PreemptionStrategy, ...]
) -> list[Target]:
    """Victims under fair sharing; empty when the strategies allow none that suffice."""
    if not strategies or _hopeless(preemptor, snapshot):
        return []
    candidates = _candidates(preemptor, snapshot)
    if not candidates:
        return []
    node = preemptor.node

    def fits() -> bool:
        for fr, amount in preemptor.usage.items():
            node.add_usage(fr, -amount)
        result = snapshot.fits(preemptor, allow_borrowing=True)
        for fr, amount in preemptor.usage.items():
            node.add_usage(fr, amount)
        return result

    # Shares are computed with the incoming workload's usage in place.
    for fr, amount in preemptor.usage.items():
        node.add_usage(fr, amount)
    run = _Pass(preemptor, snapshot, fits)
    done = _first_strategy(run, candidates, strategies[0])
    if not done and len(strategies) > 1:
        done = _second_strategy(run)
    for fr, amount in preemptor.usage.items():
        node.add_usage(fr, -amount)
    if not done:
        for target in run.targets:
            snapshot.add(target.workload)
        return []
    targets = fill_back(preemptor, snapshot, run.targets, allow_borrowing=True)
    for target in targets:
        snapshot.add(target.workload)
    return targets
