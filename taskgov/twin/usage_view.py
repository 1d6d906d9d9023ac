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
from typing import TYPE_CHECKING

from taskgov.twin.objects import FlavorResource
from taskgov.twin.quota import QuotaNode

if TYPE_CHECKING:
    from taskgov.twin.preemption import Preemptor, Running


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

    def remove(self, workload: Running) -> None:
        self._change(workload, -1)

    def add(self, workload: Running) -> None:
        self._change(workload, 1)

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
