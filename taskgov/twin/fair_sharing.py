"""Fair sharing's dominant resource share, as Kueue's ``pkg/cache/scheduler/fair_sharing.go``.

KEP-1714 (fair sharing): a ClusterQueue or Cohort that uses more than its quota borrows; its
share is the largest ratio of borrowed amount to what its parent could lend (x1000, per
resource), divided by ``fairSharing.weight``. A weight of 0 makes a borrowing node's share
infinite, yet two such nodes still compare by their unweighted ratios (Kueue's ``CompareDRS``):
comparing two infinities would tie, and a tie falls through to priority, which is how a
twin that compared plain floats admitted the wrong workload and then preempted in a loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from taskgov.twin.objects import FlavorResource
from taskgov.twin.quota import QuotaNode


class PreemptionStrategy(StrEnum):
    """``fairSharing.preemptionStrategies`` of Kueue's configuration (KEP-1714)."""

    # The preemptor's share after admission <= the target's share after the preemption.
    LESS_THAN_OR_EQUAL_TO_FINAL_SHARE = "LessThanOrEqualToFinalShare"
    # The preemptor's share after admission < the target's share before the preemption.
    LESS_THAN_INITIAL_SHARE = "LessThanInitialShare"


DEFAULT_STRATEGIES = (
    PreemptionStrategy.LESS_THAN_OR_EQUAL_TO_FINAL_SHARE,
    PreemptionStrategy.LESS_THAN_INITIAL_SHARE,
)


@dataclass(frozen=True, slots=True)
class DRS:
    """A node's dominant resource share, kept unweighted so weight 0 compares exactly."""

    weight: float
    # Largest borrowed / lendable ratio over resources, x1000; 0 when not borrowing.
    unweighted_ratio: float
    borrowing: bool

    def is_zero(self) -> bool:
        return self.unweighted_ratio == 0

    def zero_weight_borrows(self) -> bool:
        return self.weight == 0 and not self.is_zero()

    def weighted(self) -> float:
        """Kueue's ``PreciseWeightedShare``: infinite for a borrowing node of weight 0."""
        if self.is_zero():
            return 0.0
        if self.weight == 0:
            return math.inf
        return self.unweighted_ratio / self.weight

    def sort_key(self) -> tuple[int, float]:
        """A key whose order is :func:`compare_drs`'s: zero-weight borrowers last, by ratio."""
        if self.zero_weight_borrows():
            return (1, self.unweighted_ratio)
        return (0, self.weighted())


NOT_BORROWING = DRS(1.0, 0.0, False)


def compare_drs(a: DRS, b: DRS) -> int:
    """Kueue's ``CompareDRS``: -1 when ``a`` goes first for admission (last for preemption)."""
    left, right = a.sort_key(), b.sort_key()
    return (left > right) - (left < right)


def dominant_resource_share(node: QuotaNode, extra: dict[FlavorResource, int] | None = None) -> DRS:
    """The node's DRS with ``extra`` usage added (a workload considered, or removed if < 0)."""
    if not extra:
        kept = node.derived.get("drs")
        if kept is not None and kept[0] == node.generation:
            return kept[1]  # type: ignore[return-value]
        share = _share(node, None)
        node.derived["drs"] = (node.generation, share)
        return share
    return _share(node, extra)


def _share(node: QuotaNode, extra: dict[FlavorResource, int] | None) -> DRS:
    weight = node.fair_sharing_weight
    parent = node.parent
    if parent is None:
        return DRS(weight, 0.0, False)
    usage = node.usage
    borrowed: dict[str, int] = {}
    for fr, quota in node.subtree_quota.items():
        over = usage.get(fr, 0) - quota
        if extra:
            over += extra.get(fr, 0)
        if over > 0:
            borrowed[fr[1]] = borrowed.get(fr[1], 0) + over
    if not borrowed:
        return DRS(weight, 0.0, False)
    lendable = parent.lendable()
    ratio = 0.0
    for resource, amount in borrowed.items():
        capacity = lendable.get(resource, 0)
        if capacity > 0:
            ratio = max(ratio, amount * 1000 / capacity)
    return DRS(weight, ratio, True)


def strategy_allows(
    strategy: PreemptionStrategy, preemptor_new: DRS, target_old: DRS, target_new: DRS
) -> bool:
    """Whether ``strategy`` lets the preemptor take from the target (Kueue's ``Strategy``)."""
    if strategy is PreemptionStrategy.LESS_THAN_OR_EQUAL_TO_FINAL_SHARE:
        return compare_drs(preemptor_new, target_new) <= 0
    return compare_drs(preemptor_new, target_old) < 0


def strategy_unsatisfiable(preemptor_new: DRS, target_old: DRS) -> bool:
    """An infinite preemptor share can never pass against a finite target share."""
    return math.isinf(preemptor_new.weighted()) and not math.isinf(target_old.weighted())
