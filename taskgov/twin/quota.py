"""Quota and usage over the cohort tree, as Kueue's ``pkg/cache/scheduler/resource_node.go``.

Every node (ClusterQueue or Cohort) has its own quotas, a subtree quota and a usage per
(flavor, resource). Lending limits keep part of a node's quota local (``local_quota``);
the rest is lent to the parent. Available and potentially available capacity walk up
the tree, capped by each node's borrowing limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from taskgov.twin.objects import ClusterQueue, Cohort, FlavorResource, ResourceGroup, ResourceQuota


@dataclass(eq=False)
class QuotaNode:
    """A ClusterQueue (``is_cluster_queue``) or Cohort in the tree."""

    name: str
    is_cluster_queue: bool
    quotas: dict[FlavorResource, ResourceQuota] = field(default_factory=dict)
    parent: QuotaNode | None = None
    children: list[QuotaNode] = field(default_factory=list)
    subtree_quota: dict[FlavorResource, int] = field(default_factory=dict)
    usage: dict[FlavorResource, int] = field(default_factory=dict)
    fair_sharing_weight: float = 1.0
    # Per resource, what this node could lend its children; kept until the quotas change
    # (``build_subtree_quotas`` drops it).
    _lendable: dict[str, int] | None = None
    _chain: list[QuotaNode] | None = None
    _flat: bool | None = None
    _height: int | None = None
    # Per (flavor, resource), fixed with the quotas by ``build_subtree_quotas``: the part of the
    # subtree quota never lent (``local_quota``), and for a borrowing limit the most usage
    # above it that the node may reach (subtree - local + borrowingLimit).
    local: dict[FlavorResource, int] = field(default_factory=dict)
    cap_base: dict[FlavorResource, int] = field(default_factory=dict)
    # Counts usage changes, so values derived from usage can be kept until it changes.
    generation: int = 0
    derived: dict[str, tuple[int, object]] = field(default_factory=dict)

    def path(self) -> str:
        """``/root/child/cq`` as Kueue writes preemptor and preemptee paths."""
        names = []
        node: QuotaNode | None = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return "/" + "/".join(reversed(names))

    def root(self) -> QuotaNode:
        node = self
        while node.parent is not None:
            node = node.parent
        return node

    def nominal(self, fr: FlavorResource) -> int:
        quota = self.quotas.get(fr)
        return quota.nominal if quota else 0

    def local_quota(self, fr: FlavorResource) -> int:
        """The part of the subtree quota that is never lent (``guaranteedQuota``)."""
        return self.local.get(fr, 0)

    def _fix_limits(self) -> None:
        """Derive ``local`` and ``cap_base`` from the quotas and the subtree quota."""
        self.local, self.cap_base = {}, {}
        for fr, quota in self.quotas.items():
            local = 0
            if quota.lending_limit is not None:
                local = max(0, self.subtree_quota.get(fr, 0) - quota.lending_limit)
                self.local[fr] = local
            if quota.borrowing_limit is not None:
                self.cap_base[fr] = self.subtree_quota.get(fr, 0) - local + quota.borrowing_limit

    def local_available(self, fr: FlavorResource) -> int:
        return max(0, self.local.get(fr, 0) - self.usage.get(fr, 0))

    def _ancestors(self) -> list[QuotaNode]:
        """This node and its ancestors, root last (a loop, so any depth works).

        The tree does not change once built, so the chain is kept after the first call.
        """
        if self._chain is None:
            chain: list[QuotaNode] = []
            node: QuotaNode | None = self
            while node is not None:
                chain.append(node)
                node = node.parent
            self._chain = chain
        return self._chain

    def available(self, fr: FlavorResource) -> int:
        """What this node could still use of ``fr``, its own and borrowed.

        Kueue's ``available``: from the root down, the parent's available capped by each
        node's borrowing limit, plus what the node keeps for itself (inlined: the hottest
        arithmetic of preemption).
        """
        chain = self._chain or self._ancestors()
        root = chain[-1]
        result = root.subtree_quota.get(fr, 0) - root.usage.get(fr, 0)
        for i in range(len(chain) - 2, -1, -1):
            node = chain[i]
            result = node.step_available(fr, node.usage.get(fr, 0), result)
        return result

    def step_available(self, fr: FlavorResource, used: int, parent_available: int) -> int:
        """One step of :meth:`available`: the parent's, capped, plus what is kept here."""
        local = self.local.get(fr, 0)
        base = self.cap_base.get(fr)
        result = parent_available
        if base is not None:
            cap = base - (used - local if used > local else 0)
            if cap < result:
                result = cap
        if local > used:
            result += local - used
        return result

    def parent_available_needed(self, fr: FlavorResource, used: int, amount: int) -> int | None:
        """The least parent's available for which :meth:`step_available` reaches ``amount``
        at usage ``used``; None when this node's borrowing limit alone forbids it."""
        local = self.local.get(fr, 0)
        kept = local - used if local > used else 0
        base = self.cap_base.get(fr)
        if base is not None and base - (used - local if used > local else 0) + kept < amount:
            return None
        return amount - kept

    def is_flat_root(self) -> bool:
        """A cohort with no parent whose children are all ClusterQueues (kept: fixed shape)."""
        if self._flat is None:
            self._flat = self.parent is None and all(c.is_cluster_queue for c in self.children)
        return self._flat

    def potential_available(self, fr: FlavorResource) -> int:
        """The most this node could ever use of ``fr`` (Kueue's maximum capacity)."""
        chain = self._ancestors()
        result = chain[-1].subtree_quota.get(fr, 0)
        for node in reversed(chain[:-1]):
            potential = node.local_quota(fr) + result
            quota = node.quotas.get(fr)
            if quota is not None and quota.borrowing_limit is not None:
                potential = min(potential, node.subtree_quota.get(fr, 0) + quota.borrowing_limit)
            result = potential
        return result

    def borrowing(self, fr: FlavorResource) -> bool:
        return self.usage.get(fr, 0) > self.subtree_quota.get(fr, 0)

    def add_usage(self, fr: FlavorResource, amount: int) -> None:
        """Add (or, negative, remove) usage here and the overflow up the tree."""
        node: QuotaNode | None = self
        delta = amount
        while node is not None and delta:
            usage = node.usage
            local = node.local.get(fr, 0)
            old = usage.get(fr, 0)
            new = usage[fr] = old + delta
            node.generation += 1
            delta = (new - local if new > local else 0) - (old - local if old > local else 0)
            node = node.parent

    def lendable(self) -> dict[str, int]:
        """Kueue's ``calculateLendable``: per resource, the potential available here."""
        if self._lendable is None:
            lendable: dict[str, int] = {}
            for fr in self.root().subtree_quota:
                lendable[fr[1]] = lendable.get(fr[1], 0) + self.potential_available(fr)
            self._lendable = lendable
        return self._lendable

    def cluster_queues(self) -> list[QuotaNode]:
        """The ClusterQueues of this subtree, in tree order."""
        found: list[QuotaNode] = []
        stack: list[QuotaNode] = [self]
        while stack:
            node = stack.pop()
            if node.is_cluster_queue:
                found.append(node)
            stack.extend(reversed(node.children))
        return found

    def height(self) -> int:
        """Cohort levels below this node (a ClusterQueue parent counts 1), without recursion.

        The tree's shape never changes, so the answer is kept.
        """
        if self._height is None:
            self._height = self._measure_height()
        return self._height

    def _measure_height(self) -> int:
        best = 0
        stack: list[tuple[QuotaNode, int]] = [(self, 0)]
        while stack:
            node, depth = stack.pop()
            cohorts = [child for child in node.children if not child.is_cluster_queue]
            best = max(best, depth + (1 if node.children else 0))
            stack.extend((child, depth + 1) for child in cohorts)
        return best

    def lowest_subtree_that_fits(self, fr: FlavorResource, value: int) -> tuple[int, bool]:
        """(borrowing level, may reclaim) as Kueue's ``FindHeightOfLowestSubtreeThatFits``."""
        if self.usage.get(fr, 0) + value <= self.nominal(fr) or self.parent is None:
            return 0, self.parent is not None
        remaining = value - self.local_available(fr)
        node = self.parent
        while node is not None:
            if node.usage.get(fr, 0) + remaining <= node.subtree_quota.get(fr, 0):
                return node.height(), node.parent is not None
            remaining -= node.local_available(fr)
            if node.parent is None:
                return node.height(), False
            node = node.parent
        return 0, False


def build_subtree_quotas(node: QuotaNode) -> None:
    """Fill ``subtree_quota`` bottom-up: own nominal plus what children lend.

    Children before parents, by an explicit stack, so a chain of thousands of cohorts works.
    """
    order: list[QuotaNode] = []
    stack = [node]
    while stack:
        current = stack.pop()
        order.append(current)
        stack.extend(current.children)
    for current in reversed(order):
        # Values kept because quotas never change must go when they do (a requota): what a
        # node can lend, and everything derived from its usage against its quotas.
        current._lendable = None
        current.generation += 1
        current.subtree_quota = {fr: quota.nominal for fr, quota in current.quotas.items()}
        for child in current.children:
            for fr, amount in child.subtree_quota.items():
                current.subtree_quota[fr] = (
                    current.subtree_quota.get(fr, 0) + amount - child.local_quota(fr)
                )
        current._fix_limits()


def _quotas(groups: tuple[ResourceGroup, ...]) -> dict[FlavorResource, ResourceQuota]:
    return {(fq.name, r): q for g in groups for fq in g.flavors for r, q in fq.resources.items()}


def build_tree(
    cohorts: dict[str, Cohort], cluster_queues: dict[str, ClusterQueue]
) -> dict[str, QuotaNode]:
    """Every ClusterQueue (by name) and Cohort (as ``cohort:<name>``) as linked quota nodes.

    Raises:
        ValueError: the cohorts' parents form a cycle (the scenario reader rejects these
            first, naming the documents).
    """
    cycle = find_cohort_cycle({name: cohort.parent for name, cohort in cohorts.items()})
    if cycle:
        raise ValueError("cohorts form a cycle: " + " -> ".join(cycle))
    nodes: dict[str, QuotaNode] = {}
    for name, cohort in cohorts.items():
        nodes[f"cohort:{name}"] = QuotaNode(
            name,
            False,
            _quotas(cohort.resource_groups),
            fair_sharing_weight=cohort.fair_sharing_weight,
        )
    for name, cohort in cohorts.items():
        if cohort.parent:
            child, parent = nodes[f"cohort:{name}"], nodes[f"cohort:{cohort.parent}"]
            child.parent = parent
            parent.children.append(child)
    for name, cq in cluster_queues.items():
        node = QuotaNode(
            name, True, _quotas(cq.resource_groups), fair_sharing_weight=cq.fair_sharing_weight
        )
        if cq.cohort:
            node.parent = nodes[f"cohort:{cq.cohort}"]
            node.parent.children.append(node)
        nodes[name] = node
    for node in list(nodes.values()):
        if node.parent is None:
            build_subtree_quotas(node)
    return nodes


def find_cohort_cycle(parents: Mapping[str, str | None]) -> list[str] | None:
    """A cycle of cohorts following ``parent`` links, first name repeated at the end.

    Kueue's cache marks cohorts in a cycle inactive; the twin cannot walk such a tree
    (its paths and capacities would never end), so the scenario is rejected instead.
    Iterative, so a chain of thousands of cohorts is fine.

    Returns:
        e.g. ``["pool", "root", "pool"]``, or None when the parents form a forest.
    """
    done: set[str] = set()
    for start in sorted(parents):
        path: list[str] = []
        on_path: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done:
            if node in on_path:
                return path[on_path[node] :] + [node]
            on_path[node] = len(path)
            path.append(node)
            node = parents.get(node)
        done.update(path)
    return None
