"""One scheduling cycle, in the steps of Kueue's ``Scheduler.schedule`` (``pkg/scheduler``).

1. Pop one head per ClusterQueue (whose scheduling hash is not parked).
2. Nominate every head against the start-of-cycle state: flavors, and preemption targets.
3. Order the entries: classical (fits in nominal first, then priority, then creation) or,
   with fair sharing, lowest dominant resource share after admission first.
4. Process them in order: admit, issue preemptions, or requeue (park when inadmissible).
5. Give back the quota reserved for preemptors, and release the evicted victims (Kueue's job
   controller stops them and clears their reservation), asking for a flush of their tree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from taskgov.twin.contenders import Preemptor
from taskgov.twin.fair_preemption import fair_sharing_targets
from taskgov.twin.fair_sharing import dominant_resource_share
from taskgov.twin.flavors import Assignment, FlavorAssigner, Mode
from taskgov.twin.objects import FlavorResource
from taskgov.twin.preemption import (
    CandidateCache,
    Snapshot,
    Target,
    classical_targets,
)
from taskgov.twin.quota import QuotaNode
from taskgov.twin.state import Cluster, Preemption, WorkloadRun
from taskgov.twin.status import preemption_message, set_evicted, set_pending, set_released

OVERLAPPING_TARGETS = "Workload has overlapping preemption targets with another workload"
NO_LONGER_FITS = "Workload no longer fits after processing another workload"


@dataclass(eq=False)
class Entry:
    """A nominated head: its flavor assignment and the victims that would make room."""

    run: WorkloadRun
    assignment: Assignment
    targets: list[Target] = field(default_factory=list)


class CycleResult(NamedTuple):
    """What a cycle did; Kueue backs off before the next cycle when it admitted nothing."""

    admitted: int
    changed: bool
    # Preemptions issued; their victims are gone by the end of the cycle.
    preempted: int = 0


@dataclass
class _Work:
    """What step 4 accumulates for step 5."""

    preempted: set[str] = field(default_factory=set)
    reserved: list[tuple[QuotaNode, dict[FlavorResource, int]]] = field(default_factory=list)
    victims: list[Target] = field(default_factory=list)
    admitted: int = 0


class Scheduler:
    """Runs cycles over a :class:`Cluster`; the event loop supplies admission and flushing."""

    def __init__(
        self,
        cluster: Cluster,
        admit: Callable[[WorkloadRun, Assignment], None],
        request_flush: Callable[[str], None],
        allow_preemption: Callable[[str, tuple[str, ...]], bool],
    ) -> None:
        """``allow_preemption(preemptor, victims)`` may veto a preemption that would loop."""
        self.cluster = cluster
        self._admit = admit
        self._request_flush = request_flush
        self._allow_preemption = allow_preemption
        # Valid during step 2 only, while the start-of-cycle state stands.
        self._candidates: CandidateCache | None = None

    def cycle(self) -> CycleResult:
        """Run one cycle; ``changed`` is False when it found nothing to do or change."""
        cluster = self.cluster
        cluster.cycle += 1
        # 1. Heads.
        heads = []
        for head in cluster.queues.heads():
            run = cluster.runs[head.key]
            run.popped_cycle = cluster.cycle
            heads.append(run)
        if not heads:
            return CycleResult(0, False)
        # 2. Nominate against the start-of-cycle state.
        self._candidates = CandidateCache(Snapshot(cluster.nodes, cluster.running))
        entries = [self._nominate(run) for run in heads]
        self._candidates = None
        # 3. Order; 4. process.
        work = _Work()
        changed = False
        for entry in self._ordered(entries):
            changed = self._process(entry, work) or changed
        # 5. Release reservations and victims.
        self._release(work)
        return CycleResult(work.admitted, changed, len(work.victims))

    def _release(self, work: _Work) -> None:
        cluster = self.cluster
        for node, usage in work.reserved:
            for fr, amount in usage.items():
                node.add_usage(fr, -amount)
        released_roots = set()
        for target in work.victims:
            victim = cluster.runs[target.workload.key]
            if victim.running is None:
                continue
            cluster.release(victim)
            evicted = victim.conditions.get("Evicted")
            assert evicted is not None
            set_released(victim.conditions, evicted.message, cluster.now_ms)
            cluster.push_active(victim)
            released_roots.add(cluster.roots[victim.cluster_queue])
        for root in sorted(released_roots):
            self._request_flush(root)

    def _nominate(self, run: WorkloadRun) -> Entry:
        cluster = self.cluster
        cq = cluster.scenario.cluster_queues[run.cluster_queue]
        node = cluster.nodes[run.cluster_queue]
        snapshot = Snapshot(cluster.nodes, cluster.running)

        # The oracle's answers: a one-resource workload needs the same victims again below.
        simulated: dict[tuple[FlavorResource, int], list[Target]] = {}

        def oracle(fr: FlavorResource, amount: int) -> tuple[Mode, int]:
            preemptor = Preemptor(cq, node, run.spec.priority, run.created_ms, {fr: amount}, {fr})
            targets = self._targets(preemptor, snapshot)
            simulated[(fr, amount)] = targets
            if not targets:
                return Mode.NO_CANDIDATES, node.lowest_subtree_that_fits(fr, amount)[0]
            for target in targets:
                snapshot.remove(target.workload)
            borrowing = node.lowest_subtree_that_fits(fr, amount)[0]
            for target in targets:
                snapshot.add(target.workload)
            if any(t.workload.cluster_queue == cq.name for t in targets):
                return Mode.PREEMPT, borrowing
            return Mode.RECLAIM, borrowing

        can_preempt_while_borrowing = cq.preemption.borrow_within_cohort != "Never" or (
            cluster.scenario.fair_sharing and cq.preemption.reclaim_within_cohort != "Never"
        )
        assigner = FlavorAssigner(
            cq, node, cluster.scenario.flavors, oracle, can_preempt_while_borrowing
        )
        pod_sets = [(ps.name, ps.requests, ps.node_selector) for ps in run.spec.pod_sets]
        assignment = assigner.assign(pod_sets)
        entry = Entry(run, assignment)
        usage = assignment.usage
        if assignment.mode in (Mode.PREEMPT, Mode.RECLAIM) and len(usage) == 1:
            ((fr, amount),) = usage.items()
            if assignment.frs_need_preemption == {fr} and (fr, amount) in simulated:
                entry.targets = simulated[(fr, amount)]
                return entry
        if assignment.mode in (Mode.PREEMPT, Mode.RECLAIM):
            preemptor = Preemptor(
                cq,
                node,
                run.spec.priority,
                run.created_ms,
                assignment.usage,
                assignment.frs_need_preemption,
            )
            entry.targets = self._targets(preemptor, snapshot)
        return entry

    def _targets(self, preemptor: Preemptor, snapshot: Snapshot) -> list[Target]:
        if self.cluster.scenario.fair_sharing:
            return fair_sharing_targets(preemptor, snapshot, self.cluster.strategies)
        return classical_targets(preemptor, snapshot, self._candidates)

    def _ordered(self, entries: list[Entry]) -> list[Entry]:
        """Kueue's entry order: within nominal first, then priority, then creation time."""
        if not self.cluster.scenario.fair_sharing:
            return sorted(
                entries,
                key=lambda e: (
                    e.assignment.borrowing,
                    -e.run.spec.priority,
                    e.run.created_ms,
                    e.run.cluster_queue,
                    e.run.spec.uid,
                ),
            )
        # Fair sharing: the lowest share after admission goes first, recomputed as entries
        # admit (Kueue's fairSharingIterator; its DRS comparison is CompareDRS).
        nodes = self.cluster.nodes
        remaining = list(entries)
        ordered = []
        while remaining:

            def key(e: Entry) -> tuple[bool, tuple[int, float], int, int, str, str]:
                node = nodes[e.run.cluster_queue]
                borrows = any(
                    node.usage.get(fr, 0) + a > node.subtree_quota.get(fr, 0)
                    for fr, a in e.assignment.usage.items()
                )
                share = dominant_resource_share(node, e.assignment.usage)
                return (
                    borrows,
                    share.sort_key(),
                    -e.run.spec.priority,
                    e.run.created_ms,
                    e.run.cluster_queue,
                    e.run.spec.uid,
                )

            best = min(remaining, key=key)
            remaining.remove(best)
            ordered.append(best)
        return ordered

    def _process(self, entry: Entry, work: _Work) -> bool:
        """Step 4 for one entry; returns whether the cycle changed anything."""
        cluster = self.cluster
        run, assignment = entry.run, entry.assignment
        node = cluster.nodes[run.cluster_queue]
        if entry.targets and not self._allow_preemption(
            run.spec.key, tuple(sorted(t.workload.key for t in entry.targets))
        ):
            entry.targets = []
        if assignment.mode == Mode.NO_FIT or (assignment.mode != Mode.FIT and not entry.targets):
            set_pending(run.conditions, assignment.message(), cluster.now_ms)
            return self._requeue_inadmissible(run)
        if any(t.workload.key in work.preempted for t in entry.targets):
            set_pending(run.conditions, OVERLAPPING_TARGETS, cluster.now_ms)
            cluster.push_active(run)
            return False
        if not self._fits_after(entry, work, node):
            set_pending(run.conditions, NO_LONGER_FITS, cluster.now_ms)
            cluster.push_active(run)
            return False
        if entry.targets:
            work.preempted.update(t.workload.key for t in entry.targets)
            for fr, amount in assignment.usage.items():
                node.add_usage(fr, amount)
            work.reserved.append((node, dict(assignment.usage)))
            self._issue_preemptions(entry, work)
            count = len(entry.targets)
            message = f"{assignment.message()}. Pending the preemption of {count} workload(s)"
            set_pending(run.conditions, message, cluster.now_ms)
            cluster.push_active(run)
            return True
        self._admit(run, assignment)
        work.admitted += 1
        return True

    def _fits_after(self, entry: Entry, work: _Work, node: QuotaNode) -> bool:
        """Whether the entry still fits once this cycle's chosen victims are gone."""
        usage = entry.assignment.usage
        if all(node.available(fr) >= amount for fr, amount in usage.items()):
            return True  # removing victims only adds room
        cluster = self.cluster
        snapshot = Snapshot(cluster.nodes, cluster.running)
        chosen = [cluster.runs[key].running for key in work.preempted]
        chosen += [t.workload for t in entry.targets]
        chosen_runs = [r for r in chosen if r is not None]
        for victim in chosen_runs:
            snapshot.remove(victim)
        fits = all(node.available(fr) >= amount for fr, amount in entry.assignment.usage.items())
        for victim in chosen_runs:
            snapshot.add(victim)
        return fits

    def _requeue_inadmissible(self, run: WorkloadRun) -> bool:
        """StrictFIFO keeps the head; BestEffortFIFO parks it until quota is released."""
        cluster = self.cluster
        cq = cluster.scenario.cluster_queues[run.cluster_queue]
        if cq.queueing_strategy == "StrictFIFO" or cluster.queues.flushed_since(
            run.cluster_queue, run.popped_cycle
        ):
            cluster.push_active(run)
            return False
        cluster.park(run)
        cluster.push_active(run)
        return True

    def _issue_preemptions(self, entry: Entry, work: _Work) -> None:
        cluster = self.cluster
        preemptor = entry.run
        preemptor_path = cluster.nodes[preemptor.cluster_queue].path()
        for target in entry.targets:
            victim = cluster.runs[target.workload.key]
            message = preemption_message(
                preemptor.spec.uid,
                preemptor.spec.job_uid,
                target.reason,
                preemptor_path,
                cluster.nodes[victim.cluster_queue].path(),
            )
            set_evicted(victim.conditions, target.reason, message, cluster.now_ms)
            victim.evictions["Preempted"] = victim.evictions.get("Preempted", 0) + 1
            cluster.preemptions.append(
                Preemption(cluster.now_ms, victim.spec.key, preemptor.spec.key, target.reason)
            )
            work.victims.append(target)
