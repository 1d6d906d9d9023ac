"""The simulation loop: submissions, scheduling cycles, preemptions, finishes.

Time is in integer milliseconds from the scenario's start. At each event time the
scheduler runs cycles, as Kueue's ``Scheduler.schedule``, until a cycle changes nothing:
1. pop one head per ClusterQueue; 2. nominate every head against the start-of-cycle state
(flavors and preemption targets); 3. order the entries; 4. process them, admitting,
preempting or requeueing; 5. evicted victims release their quota, as Kueue's job
controller does once the job has stopped.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from taskgov.twin.accounting import QuotaAccounting
from taskgov.twin.flavors import Assignment, FlavorAssigner, Mode
from taskgov.twin.objects import ClusterQueue, FlavorResource, WorkloadSpec
from taskgov.twin.preemption import (
    Preemptor,
    Running,
    Snapshot,
    Target,
    classical_targets,
    dominant_resource_share,
    fair_sharing_targets,
)
from taskgov.twin.quota import QuotaNode, build_subtree_quotas
from taskgov.twin.scenario import Scenario
from taskgov.twin.status import (
    ConditionChange,
    Conditions,
    preemption_message,
    set_admitted,
    set_evicted,
    set_finished,
    set_pending,
    set_released,
)

MAX_CYCLES_PER_INSTANT = 100_000
# Kueue v0.17+ requeues parked workloads in batches, one second after quota is released.
FLUSH_DELAY_MS = 1_000
OVERLAPPING_TARGETS = "Workload has overlapping preemption targets with another workload"
NO_LONGER_FITS = "Workload no longer fits after processing another workload"


@dataclass(eq=False)
class WorkloadRun:
    """A workload's life in the twin."""

    spec: WorkloadSpec
    cluster_queue: str
    created_ms: int
    conditions: Conditions
    assignment: Assignment | None = None
    running: Running | None = None
    finished_ms: int | None = None
    popped_cycle: int = 0
    finish_token: int = 0
    # Only the newest heap entry of a workload counts; older ones are skipped when popped.
    queue_token: int = 0
    # Kueue's status.schedulingStats.evictions: how often, by reason.
    evictions: dict[str, int] = field(default_factory=dict)


@dataclass(eq=False)
class _Entry:
    run: WorkloadRun
    assignment: Assignment
    targets: list[Target] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Preemption:
    """A preemption the twin decided, for reports and tests."""

    time_ms: int
    victim: str
    preemptor: str
    reason: str


class Twin:
    """A Kueue-governed cluster, simulated. Construct, then :meth:`run`."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.ledger: list[ConditionChange] = []
        self.preemptions: list[Preemption] = []
        self.accounting = QuotaAccounting()
        self.runs: dict[str, WorkloadRun] = {}
        # Workload keys in submission order, so observers can pick up new ones cheaply.
        self.submitted: list[str] = []
        self.nodes = self._build_tree()
        self.running: dict[str, list[Running]] = {name: [] for name in scenario.cluster_queues}
        # Per ClusterQueue, the queued workloads grouped by scheduling hash, each group a heap
        # of (-priority, created, uid, key, token). A parked hash (Kueue's inadmissible
        # workloads) makes its whole group wait for a flush; a flush just forgets the hashes.
        self._groups: dict[str, dict[tuple[object, ...], list[tuple[int, int, str, str, int]]]] = {
            n: {} for n in scenario.cluster_queues
        }
        self._parked_hashes: dict[str, set[tuple[object, ...]]] = {
            n: set() for n in scenario.cluster_queues
        }
        self._queue_names = sorted(scenario.cluster_queues)
        self._roots = {name: self.nodes[name].root().name for name in self._queue_names}
        self._queues_of_root: dict[str, list[str]] = {}
        for name in self._queue_names:
            self._queues_of_root.setdefault(self._roots[name], []).append(name)
        self._events: list[tuple[int, int, str, str, int]] = []
        self._sequence = 0
        self._flush_pending: set[str] = set()
        self._cycle = 0
        self._flushed_cycle: dict[str, int] = dict.fromkeys(scenario.cluster_queues, 0)
        self.now_ms = 0
        self._specs = {spec.key: spec for spec in scenario.workloads}
        self._hashes = {spec.key: _scheduling_hash(spec) for spec in scenario.workloads}
        for spec in scenario.workloads:
            self._push_event(spec.submit_at_ms, "submit", spec.key)

    def _build_tree(self) -> dict[str, QuotaNode]:
        nodes: dict[str, QuotaNode] = {}
        for name, cohort in self.scenario.cohorts.items():
            quotas = {
                (fq.name, r): q
                for g in cohort.resource_groups
                for fq in g.flavors
                for r, q in fq.resources.items()
            }
            nodes[f"cohort:{name}"] = QuotaNode(
                name, False, quotas, fair_sharing_weight=cohort.fair_sharing_weight
            )
        for name, cohort in self.scenario.cohorts.items():
            if cohort.parent:
                child, parent = nodes[f"cohort:{name}"], nodes[f"cohort:{cohort.parent}"]
                child.parent = parent
                parent.children.append(child)
        for name, cq in self.scenario.cluster_queues.items():
            quotas = {
                (fq.name, r): q
                for g in cq.resource_groups
                for fq in g.flavors
                for r, q in fq.resources.items()
            }
            node = QuotaNode(name, True, quotas, fair_sharing_weight=cq.fair_sharing_weight)
            if cq.cohort:
                node.parent = nodes[f"cohort:{cq.cohort}"]
                node.parent.children.append(node)
            nodes[name] = node
        for node in list(nodes.values()):
            if node.parent is None:
                build_subtree_quotas(node)
        return nodes

    # -- events --------------------------------------------------------------------------

    def _push_event(self, time_ms: int, kind: str, key: str, token: int = 0) -> None:
        self._sequence += 1
        heapq.heappush(self._events, (time_ms, self._sequence, kind, key, token))

    def next_event_ms(self) -> int | None:
        """When the next submission, finish or requeue happens; None when nothing is left."""
        return self._events[0][0] if self._events else None

    def run(self, until_ms: int | None = None) -> int:
        """Play on to ``until_ms`` (or until nothing is left); call again to continue.

        Returns:
            The simulated time reached.
        """
        until = until_ms if until_ms is not None else self.scenario.until_ms
        specs = self._specs
        while self._events:
            time_ms = self._events[0][0]
            if until is not None and time_ms > until:
                break
            self.now_ms = time_ms
            while self._events and self._events[0][0] == time_ms:
                _, _, kind, key, token = heapq.heappop(self._events)
                if kind == "submit":
                    self._submit(specs[key])
                elif kind == "finish":
                    self._finish(key, token)
                elif kind == "flush":
                    self._flush_pending.discard(key)
                    self._flush(key)
            self._schedule()
        if until is not None:
            self.now_ms = max(self.now_ms, until)
        return self.now_ms

    def _submit(self, spec: WorkloadSpec) -> None:
        local_queue = self.scenario.local_queues[(spec.namespace, spec.queue_name)]
        run = WorkloadRun(
            spec, local_queue.cluster_queue, self.now_ms, Conditions(spec.key, self.ledger)
        )
        self.runs[spec.key] = run
        self.submitted.append(spec.key)
        if spec.preadmitted is not None:
            self._admit_preassigned(run)
        else:
            self._push_active(run)

    def _admit_preassigned(self, run: WorkloadRun) -> None:
        usage: dict[FlavorResource, int] = {}
        for pod_set in run.spec.pod_sets:
            flavors = (run.spec.preadmitted or {}).get(pod_set.name, {})
            for resource, amount in pod_set.requests.items():
                fr = (flavors.get(resource, ""), resource)
                usage[fr] = usage.get(fr, 0) + amount
        from taskgov.twin.flavors import PodSetAssignment

        pod_sets = [
            PodSetAssignment(ps.name, dict((run.spec.preadmitted or {}).get(ps.name, {})))
            for ps in run.spec.pod_sets
        ]
        self._admit(run, Assignment(pod_sets, Mode.FIT, 0, usage, set()))

    def _push_active(self, run: WorkloadRun) -> None:
        """Queue the workload (again); it waits while its hash is parked."""
        run.queue_token += 1
        group = self._groups[run.cluster_queue].setdefault(self._hashes[run.spec.key], [])
        heapq.heappush(
            group, (-run.spec.priority, run.created_ms, run.spec.uid, run.spec.key, run.queue_token)
        )

    def _flush(self, root_name: str) -> None:
        """Quota was released in a cohort tree: parked workloads of its queues get another look."""
        for name in self._queues_of_root[root_name]:
            self._flushed_cycle[name] = self._cycle
            self._parked_hashes[name].clear()

    def _request_flush(self, root_name: str) -> None:
        """Coalesce flush requests for a cohort tree into one, ``FLUSH_DELAY_MS`` later."""
        if root_name not in self._flush_pending:
            self._flush_pending.add(root_name)
            self._push_event(self.now_ms + FLUSH_DELAY_MS, "flush", root_name)

    def _root_name(self, cluster_queue: str) -> str:
        return self._roots[cluster_queue]

    def _finish(self, key: str, token: int) -> None:
        run = self.runs[key]
        if run.running is None or run.finish_token != token:
            return
        self._release(run)
        run.finished_ms = self.now_ms
        set_finished(run.conditions, _finished_message(run.spec), self.now_ms)
        self._request_flush(self._root_name(run.cluster_queue))

    # -- admission and release -----------------------------------------------------------

    def _admit(self, run: WorkloadRun, assignment: Assignment) -> None:
        node = self.nodes[run.cluster_queue]
        for fr, amount in assignment.usage.items():
            self.accounting.change(run.cluster_queue, fr, node.nominal(fr), amount, self.now_ms)
            node.add_usage(fr, amount)
        run.assignment = assignment
        run.running = Running(
            run.spec.key,
            run.spec.uid,
            run.cluster_queue,
            run.spec.priority,
            run.created_ms,
            self.now_ms,
            dict(assignment.usage),
        )
        self.running[run.cluster_queue].append(run.running)
        set_admitted(run.conditions, run.cluster_queue, self.now_ms)
        if run.spec.run_for_ms is not None:
            run.finish_token += 1
            self._push_event(
                self.now_ms + run.spec.run_for_ms, "finish", run.spec.key, run.finish_token
            )

    def _release(self, run: WorkloadRun) -> None:
        assert run.running is not None
        node = self.nodes[run.cluster_queue]
        for fr, amount in run.running.usage.items():
            self.accounting.change(run.cluster_queue, fr, node.nominal(fr), -amount, self.now_ms)
            node.add_usage(fr, -amount)
        self.running[run.cluster_queue].remove(run.running)
        run.running = None

    # -- the scheduling cycle -------------------------------------------------------------

    def _schedule(self) -> None:
        for _ in range(MAX_CYCLES_PER_INSTANT):
            if not self._cycle_once():
                return

    def _heads(self) -> list[WorkloadRun]:
        """The best queued workload of each ClusterQueue whose hash is not parked."""
        heads = []
        for name in self._queue_names:
            groups, parked = self._groups[name], self._parked_hashes[name]
            best: tuple[int, int, str, str, int] | None = None
            best_hash: tuple[object, ...] | None = None
            for equivalence in list(groups):
                if equivalence in parked:
                    continue
                group = groups[equivalence]
                while group and self._stale(group[0]):
                    heapq.heappop(group)
                if not group:
                    del groups[equivalence]
                elif best is None or group[0] < best:
                    best, best_hash = group[0], equivalence
            if best is None or best_hash is None:
                continue
            heapq.heappop(groups[best_hash])
            run = self.runs[best[3]]
            run.popped_cycle = self._cycle
            heads.append(run)
        return heads

    def _stale(self, entry: tuple[int, int, str, str, int]) -> bool:
        run = self.runs[entry[3]]
        return entry[4] != run.queue_token or run.running is not None or run.finished_ms is not None

    def _cycle_once(self) -> bool:
        self._cycle += 1
        heads = self._heads()
        if not heads:
            return False
        entries = [self._nominate(run) for run in heads]
        changed = False
        preempted: set[str] = set()
        reserved: list[tuple[QuotaNode, dict[FlavorResource, int]]] = []
        victims: list[Target] = []
        for entry in self._ordered(entries):
            outcome = self._process(entry, preempted, reserved, victims)
            changed = changed or outcome
        for node, usage in reserved:
            for fr, amount in usage.items():
                node.add_usage(fr, -amount)
        released_roots = set()
        for target in victims:
            victim = self.runs[target.workload.key]
            if victim.running is None:
                continue
            self._release(victim)
            set_released(victim.conditions, victim.conditions.get("Evicted").message, self.now_ms)  # type: ignore[union-attr]
            self._push_active(victim)
            released_roots.add(self._root_name(victim.cluster_queue))
        for root in sorted(released_roots):
            self._request_flush(root)
        return changed

    def _nominate(self, run: WorkloadRun) -> _Entry:
        cq = self.scenario.cluster_queues[run.cluster_queue]
        node = self.nodes[run.cluster_queue]
        snapshot = Snapshot(self.nodes, self.running)

        def oracle(fr: FlavorResource, amount: int) -> Mode:
            preemptor = Preemptor(cq, node, run.spec.priority, run.created_ms, {fr: amount}, {fr})
            targets = self._targets(preemptor, snapshot)
            if not targets:
                return Mode.NO_CANDIDATES
            if any(t.workload.cluster_queue == cq.name for t in targets):
                return Mode.PREEMPT
            return Mode.RECLAIM

        can_preempt_while_borrowing = cq.preemption.borrow_within_cohort != "Never" or (
            self.scenario.fair_sharing and cq.preemption.reclaim_within_cohort != "Never"
        )
        assigner = FlavorAssigner(
            cq, node, self.scenario.flavors, oracle, can_preempt_while_borrowing
        )
        pod_sets = [(ps.name, ps.requests, ps.node_selector) for ps in run.spec.pod_sets]
        assignment = assigner.assign(pod_sets)
        entry = _Entry(run, assignment)
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
        if self.scenario.fair_sharing:
            return fair_sharing_targets(preemptor, snapshot, self.scenario.preemption_strategies)
        return classical_targets(preemptor, snapshot)

    def _ordered(self, entries: list[_Entry]) -> list[_Entry]:
        """Kueue's entry order: within nominal first, then priority, then creation time."""
        if not self.scenario.fair_sharing:
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
        # Fair sharing: the lowest share after admission goes first, recomputed as entries admit.
        remaining = list(entries)
        ordered = []
        while remaining:

            def key(e: _Entry) -> tuple[bool, float, int, int, str, str]:
                node = self.nodes[e.run.cluster_queue]
                borrows = any(
                    node.usage.get(fr, 0) + a > node.subtree_quota.get(fr, 0)
                    for fr, a in e.assignment.usage.items()
                )
                share = dominant_resource_share(node, e.assignment.usage)
                return (
                    borrows,
                    share,
                    -e.run.spec.priority,
                    e.run.created_ms,
                    e.run.cluster_queue,
                    e.run.spec.uid,
                )

            best = min(remaining, key=key)
            remaining.remove(best)
            ordered.append(best)
        return ordered

    def _process(
        self,
        entry: _Entry,
        preempted: set[str],
        reserved: list[tuple[QuotaNode, dict[FlavorResource, int]]],
        victims: list[Target],
    ) -> bool:
        run, assignment = entry.run, entry.assignment
        cq = self.scenario.cluster_queues[run.cluster_queue]
        node = self.nodes[run.cluster_queue]
        if assignment.mode == Mode.NO_FIT or (assignment.mode != Mode.FIT and not entry.targets):
            set_pending(run.conditions, assignment.message(), self.now_ms)
            return self._requeue_inadmissible(run, cq)
        if any(t.workload.key in preempted for t in entry.targets):
            set_pending(run.conditions, OVERLAPPING_TARGETS, self.now_ms)
            self._push_active(run)
            return False
        snapshot = Snapshot(self.nodes, self.running)
        chosen = [self.runs[key].running for key in preempted] + [t.workload for t in entry.targets]
        chosen_runs = [r for r in chosen if r is not None]
        for victim in chosen_runs:
            snapshot.remove(victim)
        fits = all(node.available(fr) >= amount for fr, amount in assignment.usage.items())
        for victim in chosen_runs:
            snapshot.add(victim)
        if not fits:
            set_pending(run.conditions, NO_LONGER_FITS, self.now_ms)
            self._push_active(run)
            return False
        if entry.targets:
            preempted.update(t.workload.key for t in entry.targets)
            for fr, amount in assignment.usage.items():
                node.add_usage(fr, amount)
            reserved.append((node, dict(assignment.usage)))
            self._issue_preemptions(entry, victims)
            count = len(entry.targets)
            message = f"{assignment.message()}. Pending the preemption of {count} workload(s)"
            set_pending(run.conditions, message, self.now_ms)
            self._push_active(run)
            return True
        self._admit(run, assignment)
        return True

    def _requeue_inadmissible(self, run: WorkloadRun, cq: ClusterQueue) -> bool:
        """StrictFIFO keeps the head; BestEffortFIFO parks it until quota is released."""
        if (
            cq.queueing_strategy == "StrictFIFO"
            or self._flushed_cycle[run.cluster_queue] >= run.popped_cycle
        ):
            self._push_active(run)
            return False
        # Kueue's SchedulingEquivalenceHashing: every equivalent workload waits for a flush too.
        # Kueue's SchedulingEquivalenceHashing: every equivalent workload waits for a flush too.
        self._parked_hashes[run.cluster_queue].add(self._hashes[run.spec.key])
        self._push_active(run)
        return True

    def _issue_preemptions(self, entry: _Entry, victims: list[Target]) -> None:
        preemptor = entry.run
        preemptor_path = self.nodes[preemptor.cluster_queue].path()
        for target in entry.targets:
            victim = self.runs[target.workload.key]
            message = preemption_message(
                preemptor.spec.uid,
                preemptor.spec.job_uid,
                target.reason,
                preemptor_path,
                self.nodes[victim.cluster_queue].path(),
            )
            set_evicted(victim.conditions, target.reason, message, self.now_ms)
            victim.evictions["Preempted"] = victim.evictions.get("Preempted", 0) + 1
            self.preemptions.append(
                Preemption(self.now_ms, victim.spec.key, preemptor.spec.key, target.reason)
            )
            victims.append(target)


def _scheduling_hash(spec: WorkloadSpec) -> tuple[object, ...]:
    """What makes two workloads equivalent to the scheduler: priority and pod set shapes."""
    return (
        spec.priority,
        tuple(
            (
                ps.name,
                ps.count,
                tuple(sorted(ps.requests.items())),
                tuple(sorted(ps.node_selector.items())),
            )
            for ps in spec.pod_sets
        ),
    )


def _finished_message(spec: WorkloadSpec) -> str:
    if spec.job_uid is None:
        return "Finished after running for its taskgov.io/run-for"
    if spec.name.startswith("pytorchjob-"):
        return "PyTorchJob finished successfully"
    return "Reached expected number of succeeded pods"
