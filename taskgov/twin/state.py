"""What the simulated cluster holds: workloads, the quota tree, admitted usage, the records.

Kueue's cache (``pkg/cache/scheduler``) keeps admitted workloads and quota usage; its queue
manager keeps the pending ones (:class:`~taskgov.twin.queues.QueueManager`). The scheduling
cycle (``taskgov.twin.cycle``) reads and changes this state; the event loop
(``taskgov.twin.engine``) moves it through time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from taskgov.twin.accounting import QuotaAccounting
from taskgov.twin.contenders import Running
from taskgov.twin.fair_sharing import PreemptionStrategy
from taskgov.twin.flavors import Assignment
from taskgov.twin.objects import WorkloadSpec
from taskgov.twin.queues import QueueEntry, QueueManager, SchedulingHash, scheduling_hash
from taskgov.twin.quota import QuotaNode, build_tree
from taskgov.twin.scenario import Scenario
from taskgov.twin.status import ConditionChange, Conditions, set_admitted


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


@dataclass(frozen=True, slots=True)
class Preemption:
    """A preemption the twin decided, for reports and tests."""

    time_ms: int
    victim: str
    preemptor: str
    reason: str


@dataclass(frozen=True, slots=True)
class Thrash:
    """A preemption loop: at ``time_ms`` a preemption decided at ``since_ms`` came round again.

    Kueue would go round this loop for as long as nothing else happens; the twin records it,
    leaves the victims admitted and holds until the next submission or finish, so every
    replay ends.
    """

    time_ms: int
    since_ms: int
    preemptors: tuple[str, ...]
    victims: tuple[str, ...]


class Cluster:
    """The state one scheduling cycle works on."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.ledger: list[ConditionChange] = []
        self.preemptions: list[Preemption] = []
        self.thrashes: list[Thrash] = []
        self.accounting = QuotaAccounting()
        self.runs: dict[str, WorkloadRun] = {}
        # Workload keys in submission order, so observers can pick up new ones cheaply.
        self.submitted: list[str] = []
        self.nodes: dict[str, QuotaNode] = build_tree(scenario.cohorts, scenario.cluster_queues)
        self.running: dict[str, list[Running]] = {name: [] for name in scenario.cluster_queues}
        self.queues = QueueManager(scenario.cluster_queues, self._is_current)
        self.strategies = tuple(PreemptionStrategy(s) for s in scenario.preemption_strategies)
        self.now_ms = 0
        self.cycle = 0
        names = sorted(scenario.cluster_queues)
        self.roots = {name: self.nodes[name].root().name for name in names}
        self.queues_of_root: dict[str, list[str]] = {}
        for name in names:
            self.queues_of_root.setdefault(self.roots[name], []).append(name)
        self._hashes: dict[str, SchedulingHash] = {
            spec.key: scheduling_hash(spec) for spec in scenario.workloads
        }
        # An order-free fingerprint of the admitted set: XOR of key hashes, and the count.
        self.admitted_fingerprint = 0
        self.admitted_count = 0

    def _is_current(self, entry: QueueEntry) -> bool:
        run = self.runs[entry.key]
        return entry.token == run.queue_token and run.running is None and run.finished_ms is None

    def push_active(self, run: WorkloadRun) -> None:
        """Queue the workload (again); it waits while its hash is parked."""
        run.queue_token += 1
        entry = QueueEntry(
            -run.spec.priority, run.created_ms, run.spec.uid, run.spec.key, run.queue_token
        )
        self.queues.push(run.cluster_queue, self._hashes[run.spec.key], entry)

    def park(self, run: WorkloadRun) -> None:
        """Kueue's SchedulingEquivalenceHashing: every equivalent workload waits for a flush."""
        self.queues.park(run.cluster_queue, self._hashes[run.spec.key])

    def admit(self, run: WorkloadRun, assignment: Assignment) -> bool:
        """Reserve the assignment's quota; returns whether the job will finish by itself."""
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
        self.admitted_fingerprint ^= hash(run.spec.key)
        self.admitted_count += 1
        set_admitted(run.conditions, run.cluster_queue, self.now_ms)
        return run.spec.run_for_ms is not None

    def release(self, run: WorkloadRun) -> None:
        """Give back the quota an admitted workload holds."""
        assert run.running is not None
        node = self.nodes[run.cluster_queue]
        for fr, amount in run.running.usage.items():
            self.accounting.change(run.cluster_queue, fr, node.nominal(fr), -amount, self.now_ms)
            node.add_usage(fr, -amount)
        self.running[run.cluster_queue].remove(run.running)
        self.admitted_fingerprint ^= hash(run.spec.key)
        self.admitted_count -= 1
        run.running = None
