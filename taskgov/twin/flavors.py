"""Flavor assignment, as Kueue's ``pkg/scheduler/flavorassigner``.

For each pod set and resource group, flavors are tried in order; each flavor's mode is the
worst of its resources' (fit, reclaim, preempt, no candidates, no fit), and
``flavorFungibility`` decides whether to stop at it or look further.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from taskgov.kueue.quantity import format_amount
from taskgov.twin.objects import ClusterQueue, FlavorResource, FungibilityPreference, ResourceFlavor
from taskgov.twin.quota import QuotaNode


class Mode(IntEnum):
    """Kueue's internal flavor-assignment modes, worst first."""

    NO_FIT = 0
    NO_CANDIDATES = 1
    PREEMPT = 2
    RECLAIM = 3
    FIT = 4


# Given a (flavor, resource) and the amount needed there: the mode preemption could reach and
# the borrowing level once its victims are gone (Kueue's ``SimulatePreemption``).
PreemptionOracle = Callable[[FlavorResource, int], tuple[Mode, int]]


@dataclass(slots=True)
class PodSetAssignment:
    name: str
    flavors: dict[str, str] = field(default_factory=dict)
    usage: dict[FlavorResource, int] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    mode: Mode = Mode.FIT


@dataclass(slots=True)
class Assignment:
    """The flavors chosen for a workload, with the mode and borrowing level they need."""

    pod_sets: list[PodSetAssignment]
    mode: Mode
    borrowing: int
    usage: dict[FlavorResource, int]
    # The (flavor, resource) pairs whose quota needs preemption.
    frs_need_preemption: set[FlavorResource]

    def message(self) -> str:
        parts = [
            f"couldn't assign flavors to pod set {ps.name}: {', '.join(sorted(ps.reasons))}"
            for ps in self.pod_sets
            if ps.mode != Mode.FIT
        ]
        return "; ".join(parts)


@dataclass(slots=True)
class _FlavorTry:
    flavor: str
    mode: Mode
    borrowing: int
    modes: dict[str, Mode]
    # The representative mode's borrowing level (Kueue's ``granularMode.borrowingLevel``).
    level: int


def is_preferred(
    a: tuple[Mode, int], b: tuple[Mode, int] | None, preference: FungibilityPreference | None
) -> bool:
    """Kueue's ``isPreferred``: whether (mode, borrowing level) ``a`` beats ``b``.

    A flavor whose preemption found no candidates ranks below any usable one whatever the
    preference; ``PreemptionOverBorrowing`` then compares borrowing level before mode.
    """
    if a[0] == Mode.NO_FIT:
        return False
    if b is None or b[0] == Mode.NO_FIT:
        return True
    if (a[0] == Mode.NO_CANDIDATES) != (b[0] == Mode.NO_CANDIDATES):
        return a[0] != Mode.NO_CANDIDATES
    if preference is FungibilityPreference.PREEMPTION_OVER_BORROWING:
        if a[1] != b[1]:
            return a[1] < b[1]
        return a[0] > b[0]
    if a[0] != b[0]:
        return a[0] > b[0]
    return a[1] < b[1]


class FlavorAssigner:
    """Assigns flavors for one workload against one ClusterQueue's quota node."""

    def __init__(
        self,
        cluster_queue: ClusterQueue,
        node: QuotaNode,
        flavors: dict[str, ResourceFlavor],
        oracle: PreemptionOracle,
        can_preempt_while_borrowing: bool,
    ) -> None:
        self.cluster_queue = cluster_queue
        self.node = node
        self.flavors = flavors
        self.oracle = oracle
        self.can_preempt_while_borrowing = can_preempt_while_borrowing

    def _fits_quota(
        self, fr: FlavorResource, assumed: int, request: int, reasons: list[str]
    ) -> tuple[Mode, int]:
        flavor, resource = fr
        value = assumed + request
        max_capacity = self.node.potential_available(fr)
        if value > max_capacity:
            reasons.append(
                f"insufficient quota for {resource} in flavor {flavor}, previously considered "
                f"podsets requests ({format_amount(resource, assumed)}) + current podset request "
                f"({format_amount(resource, request)}) > maximum capacity "
                f"({format_amount(resource, max_capacity)})"
            )
            return Mode.NO_FIT, 0
        borrowing, may_reclaim = self.node.lowest_subtree_that_fits(fr, value)
        available = max(0, self.node.available(fr))
        if value <= available:
            return Mode.FIT, borrowing
        reasons.append(
            f"insufficient unused quota for {resource} in flavor {flavor}, "
            f"{format_amount(resource, value - available)} more needed"
        )
        if self.node.nominal(fr) >= value or may_reclaim or self.can_preempt_while_borrowing:
            return self.oracle(fr, value)
        return Mode.NO_FIT, borrowing

    def assign(self, pod_sets: list[tuple[str, dict[str, int], dict[str, str]]]) -> Assignment:
        """Choose flavors for (name, total requests, node selector) pod sets, in order."""
        results: list[PodSetAssignment] = []
        total: dict[FlavorResource, int] = {}
        need_preemption: set[FlavorResource] = set()
        borrowing = 0
        for name, requests, node_selector in pod_sets:
            result = PodSetAssignment(name)
            results.append(result)
            requested = {r: a for r, a in requests.items() if a > 0}
            for resource in sorted(requested):
                if not any(
                    resource in g.covered_resources for g in self.cluster_queue.resource_groups
                ):
                    result.reasons.append(f"resource {resource} unavailable in ClusterQueue")
                    result.mode = Mode.NO_FIT
            if result.mode == Mode.NO_FIT:
                continue
            for group in self.cluster_queue.resource_groups:
                group_resources = [r for r in sorted(requested) if r in group.covered_resources]
                if not group_resources:
                    continue
                chosen, group_reasons = self._choose_flavor(
                    group, group_resources, requested, node_selector, total
                )
                if chosen is None or chosen.mode == Mode.NO_FIT:
                    result.mode = Mode.NO_FIT
                    result.reasons += group_reasons
                    continue
                if chosen.mode != Mode.FIT:
                    result.reasons += group_reasons
                result.mode = min(result.mode, chosen.mode)
                borrowing = max(borrowing, chosen.borrowing)
                for resource in group_resources:
                    fr = (chosen.flavor, resource)
                    result.flavors[resource] = chosen.flavor
                    result.usage[fr] = result.usage.get(fr, 0) + requested[resource]
                    total[fr] = total.get(fr, 0) + requested[resource]
                    if chosen.modes[resource] != Mode.FIT:
                        need_preemption.add(fr)
        mode = min((r.mode for r in results), default=Mode.FIT)
        return Assignment(results, mode, borrowing, total, need_preemption)

    def _choose_flavor(
        self,
        group: object,
        resources: list[str],
        requested: dict[str, int],
        node_selector: dict[str, str],
        assumed: dict[FlavorResource, int],
    ) -> tuple[_FlavorTry | None, list[str]]:
        reasons: list[str] = []
        best: _FlavorTry | None = None
        preference = self.cluster_queue.fungibility_preference
        for flavor_quotas in group.flavors:  # type: ignore[attr-defined]
            flavor = flavor_quotas.name
            labels = self.flavors[flavor].node_labels if flavor in self.flavors else {}
            if any(key in labels and labels[key] != value for key, value in node_selector.items()):
                reasons.append(f"flavor {flavor} doesn't match node affinity")
                continue
            modes: dict[str, Mode] = {}
            level = 0
            # The flavor's representative mode: the worst of its resources' under the preference.
            representative = (Mode.FIT, 0)
            for resource in resources:
                fr = (flavor, resource)
                mode, borrow = self._fits_quota(
                    fr, assumed.get(fr, 0), requested[resource], reasons
                )
                modes[resource] = mode
                level = max(level, borrow)
                if is_preferred(representative, (mode, borrow), preference):
                    representative = (mode, borrow)
            attempt = _FlavorTry(flavor, representative[0], level, modes, representative[1])
            try_next = (
                attempt.mode in (Mode.NO_FIT, Mode.NO_CANDIDATES)
                or (
                    attempt.mode in (Mode.PREEMPT, Mode.RECLAIM)
                    and self.cluster_queue.when_can_preempt == "TryNextFlavor"
                )
                or (attempt.level > 0 and self.cluster_queue.when_can_borrow == "TryNextFlavor")
            )
            if not try_next:
                return attempt, reasons
            if best is None or is_preferred(
                (attempt.mode, attempt.level), (best.mode, best.level), preference
            ):
                best = attempt if attempt.mode != Mode.NO_FIT else best
        return best, reasons
