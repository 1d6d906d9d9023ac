"""What-if usage of one ClusterQueue's cohort, kept aside from the quota tree.

Choosing victims (Kueue's ``minimalPreemptions`` and ``fillBackWorkloads``) removes and adds
back candidates one by one and asks after each step whether the preemptor fits. In a cohort
with no cohort above it and only ClusterQueues below it, the answer depends only on the
preemptor's queue, the cohort, and (for "is this candidate's queue still borrowing") the
candidate's queue. :class:`FlatCohortView` keeps those usages in its own dicts, so a search
over hundreds of candidates does integer arithmetic on them instead of walking the tree, and
leaves the tree as it found it. The arithmetic is :mod:`taskgov.twin.quota`'s, step for step.
"""

from __future__ import annotations

from collections.abc import Mapping

from taskgov.twin.contenders import Preemptor, Running
from taskgov.twin.objects import FlavorResource
from taskgov.twin.quota import QuotaNode


def is_flat_cohort_member(node: QuotaNode) -> bool:
    """Whether ``node`` is a ClusterQueue in a root cohort whose children are all queues."""
    return node.is_cluster_queue and node.parent is not None and node.parent.is_flat_root()


class FlatCohortView:
    """The preemptor queue's, its cohort's and other queues' usage, changed privately."""

    def __init__(self, node: QuotaNode, nodes: Mapping[str, QuotaNode]) -> None:
        assert node.parent is not None
        self.node = node
        self.cohort = node.parent
        self.nodes = nodes
        self.own: dict[FlavorResource, int] = dict(node.usage)
        self.top: dict[FlavorResource, int] = dict(self.cohort.usage)
        self._others: dict[str, dict[FlavorResource, int]] = {}

    def _usage_of(self, cluster_queue: str) -> dict[FlavorResource, int]:
        if cluster_queue == self.node.name:
            return self.own
        usage = self._others.get(cluster_queue)
        if usage is None:
            usage = self._others[cluster_queue] = dict(self.nodes[cluster_queue].usage)
        return usage

    def _change(self, workload: Running, sign: int) -> None:
        """Add (``sign`` 1) or remove (-1) a workload's usage, overflowing into the cohort."""
        name = workload.cluster_queue
        usage = self._usage_of(name)
        local_of = self.nodes[name].local
        top = self.top
        for fr, amount in workload.usage.items():
            old = usage.get(fr, 0)
            new = usage[fr] = old + sign * amount
            local = local_of.get(fr, 0)
            delta = (new - local if new > local else 0) - (old - local if old > local else 0)
            if delta:
                top[fr] = top.get(fr, 0) + delta

    def still_borrowing(self, cluster_queue: str, frs: set[FlavorResource]) -> bool:
        """Whether the (other) queue uses more than its quota of any of ``frs``.

        Its common ancestor with the preemptor's queue is the cohort, so the queue is the
        only level that ``_still_borrowing`` looks at.
        """
        usage = self._others.get(cluster_queue)
        node = self.nodes[cluster_queue]
        if usage is None:
            usage = node.usage
        quota = node.subtree_quota
        return any(usage.get(fr, 0) > quota.get(fr, 0) for fr in frs)

    def fits(self, preemptor: Preemptor, allow_borrowing: bool) -> bool:
        """:meth:`Snapshot.fits <taskgov.twin.preemption.Snapshot.fits>` on this view."""
        node, own, requests = self.node, self.own, preemptor.usage
        if not allow_borrowing:
            for fr, amount in requests.items():
                if own.get(fr, 0) + amount > node.nominal(fr):
                    return False
        cohort, top = self.cohort, self.top
        for fr, amount in requests.items():
            available = cohort.subtree_quota.get(fr, 0) - top.get(fr, 0)
            if node.step_available(fr, own.get(fr, 0), available) < amount:
                return False
        return True

    def remove_until_fits(
        self,
        preemptor: Preemptor,
        others: list[Running],
        own_candidates: list[Running],
        allow_borrowing: bool,
    ) -> list[Running]:
        """Kueue's removal loop: other queues' candidates while their queue still borrows,
        then the preemptor queue's, until the preemptor fits; [] when it never does.

        While the preemptor may not borrow and its own queue is over nominal, removing other
        queues' workloads cannot make it fit (its own usage does not change), so the fits
        test is skipped until the loop reaches its own queue's candidates.
        """
        frs, requests = preemptor.frs_need_preemption, preemptor.usage
        node = self.node
        blocked = not allow_borrowing and any(
            self.own.get(fr, 0) + amount > node.nominal(fr) for fr, amount in requests.items()
        )
        removed: list[Running] = []
        for workload in others:
            if not self.still_borrowing(workload.cluster_queue, frs):
                continue
            self._change(workload, -1)
            removed.append(workload)
            if not blocked and self.fits(preemptor, allow_borrowing):
                return removed
        for workload in own_candidates:
            self._change(workload, -1)
            removed.append(workload)
            if self.fits(preemptor, allow_borrowing):
                return removed
        return []

    def fill_back(
        self, preemptor: Preemptor, removed: list[Running], allow_borrowing: bool
    ) -> list[Running]:
        """Kueue's ``fillBackWorkloads`` on this view (the same swaps, so the same order)."""
        targets = list(removed)
        for i in range(len(targets) - 2, -1, -1):
            workload = targets[i]
            self._change(workload, 1)
            if self.fits(preemptor, allow_borrowing):
                targets[i] = targets[-1]
                targets.pop()
            else:
                self._change(workload, -1)
        return targets
