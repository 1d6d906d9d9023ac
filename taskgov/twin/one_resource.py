"""The victim search of a one-level cohort for a preemptor that needs one (flavor, resource).

Then every test of Kueue's search (does the preemptor fit, does a candidate's queue still
borrow) reads that one amount only: of the preemptor's queue, of the cohort, and of the
candidate's queue. :class:`OneResourceSearch` keeps them as integers and takes the steps of
:class:`~taskgov.twin.usage_view.FlatCohortView` on them, the same steps with the same answers.

While only other queues' workloads are removed or added back, the preemptor queue's own usage
stands still, so "does it fit" becomes "is the cohort's usage at most a limit", found once.
"""

from __future__ import annotations

from collections.abc import Mapping

from taskgov.twin.contenders import Preemptor, Running
from taskgov.twin.quota import QuotaNode


class OneResourceSearch:
    """Kueue's removal loop and fill-back for one preemptor, on integers."""

    def __init__(self, preemptor: Preemptor, nodes: Mapping[str, QuotaNode]) -> None:
        ((self.fr, self.amount),) = preemptor.usage.items()
        self.node = node = preemptor.node
        assert node.parent is not None
        self.nodes = nodes
        self.cohort_room = node.parent.subtree_quota.get(self.fr, 0)
        self.top = node.parent.usage.get(self.fr, 0)
        self.own = node.usage.get(self.fr, 0)
        self.nominal = node.nominal(self.fr)
        # Per queue: [its amount now, its quota, what it keeps local].
        self._queues: dict[str, list[int]] = {}

    def _queue(self, name: str) -> list[int]:
        state = self._queues.get(name)
        if state is None:
            node, fr = self.nodes[name], self.fr
            used = self.own if name == self.node.name else node.usage.get(fr, 0)
            state = [used, node.subtree_quota.get(fr, 0), node.local.get(fr, 0)]
            self._queues[name] = state
        return state

    def _change(self, workload: Running, sign: int) -> None:
        """Add (1) or remove (-1) the workload's amount, overflowing into the cohort."""
        state = self._queue(workload.cluster_queue)
        old, local = state[0], state[2]
        new = state[0] = old + sign * workload.usage[self.fr]
        self.top += (new - local if new > local else 0) - (old - local if old > local else 0)
        if workload.cluster_queue == self.node.name:
            self.own = new

    def _top_limit(self, allow_borrowing: bool) -> int | None:
        """The most the cohort may use for the preemptor to fit at its queue's usage now."""
        if not allow_borrowing and self.own + self.amount > self.nominal:
            return None
        needed = self.node.parent_available_needed(self.fr, self.own, self.amount)
        return None if needed is None else self.cohort_room - needed

    def fits(self, allow_borrowing: bool) -> bool:
        limit = self._top_limit(allow_borrowing)
        return limit is not None and self.top <= limit

    def remove_until_fits(
        self, others: list[Running], own_candidates: list[Running], allow_borrowing: bool
    ) -> list[Running]:
        """Other queues' candidates while their queue still borrows, then the preemptor
        queue's, until the preemptor fits; [] when it never does."""
        limit = self._top_limit(allow_borrowing)
        removed: list[Running] = []
        fr = self.fr
        for workload in others:
            state = self._queue(workload.cluster_queue)
            old, quota, local = state
            if old <= quota:
                continue  # the queue no longer borrows
            new = state[0] = old - workload.usage[fr]
            self.top += (new - local if new > local else 0) - (old - local if old > local else 0)
            removed.append(workload)
            if limit is not None and self.top <= limit:
                return removed
        for workload in own_candidates:
            self._change(workload, -1)
            removed.append(workload)
            if self.fits(allow_borrowing):
                return removed
        return []

    def fill_back(self, removed: list[Running], allow_borrowing: bool) -> list[Running]:
        """Kueue's ``fillBackWorkloads``: back, newest choice first, all that still fits.

        The swaps are Kueue's, so the victims come out in its order.
        """
        targets = list(removed)
        own = self.node.name
        first_own = sum(1 for workload in removed if workload.cluster_queue != own)
        i = len(targets) - 2
        while i >= first_own:
            self._change(targets[i], 1)
            if self.fits(allow_borrowing):
                targets[i] = targets[-1]
                targets.pop()
            else:
                self._change(targets[i], -1)
            i -= 1
        limit = self._top_limit(allow_borrowing)
        if limit is None:
            return targets
        fr = self.fr
        for j in range(i, -1, -1):
            workload = targets[j]
            state = self._queue(workload.cluster_queue)
            old, local = state[0], state[2]
            new = old + workload.usage[fr]
            overflow = (new - local if new > local else 0) - (old - local if old > local else 0)
            if self.top + overflow <= limit:
                state[0] = new
                self.top += overflow
                targets[j] = targets[-1]
                targets.pop()
        return targets
