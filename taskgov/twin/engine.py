"""The simulation loop: submissions, scheduling cycles, finishes, flushes, through time.

Time is in integer milliseconds from the scenario's start. At each event time the twin runs
scheduling cycles (``taskgov.twin.cycle``) the way Kueue's ``wait.UntilWithBackoff`` drives
``Scheduler.schedule``: a cycle that admitted a workload is followed by the next one at once;
one that admitted nothing but parked a head is followed after Kueue's backoff (1 ms, doubling
to 10 ms; reset by an admitting cycle); a cycle that changed nothing waits for the next event.
A cycle that issued preemptions is followed at once too: the twin has no API latency, so its
victims' eviction (job stopped, reservation cleared) completes within that cycle, and the
preemptor is admitted at the same instant (Kueue's scheduler would back off 1 ms; keeping the
instant keeps replays equal, to the second, to what the watcher records). A preemption loop
therefore plays out over simulated time, one round per flush, as it would in Kueue; and when
a workload would issue the same preemptions from the same admitted set as before since the
last submission or finish, the twin records a :class:`Thrash`, does not preempt, and runs no
cycle until the next submission or finish, so every replay ends.
"""

from __future__ import annotations

import gc

from taskgov.twin.cycle import Scheduler
from taskgov.twin.events import Event, EventKind, EventQueue
from taskgov.twin.flavors import Assignment, Mode, PodSetAssignment
from taskgov.twin.objects import FlavorResource, WorkloadSpec
from taskgov.twin.scenario import Scenario
from taskgov.twin.state import Cluster, Preemption, Thrash, WorkloadRun
from taskgov.twin.status import Conditions, set_finished

__all__ = ["Preemption", "Thrash", "Twin", "WorkloadRun"]

# Kueue v0.17+ requeues parked workloads in batches, one second after quota is released.
FLUSH_DELAY_MS = 1_000
# Kueue's pkg/util/wait: the backoff between cycles that admit nothing, 1 ms doubling to 10 ms.
BACKOFF_INITIAL_MS = 1
BACKOFF_MAX_MS = 10

# (admitted-set fingerprint, admitted count, preemptor, victims): one preemption decision.
StateKey = tuple[int, int, str, tuple[str, ...]]


class Twin(Cluster):
    """A Kueue-governed cluster, simulated. Construct, then :meth:`run`."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        self._events = EventQueue()
        self._flush_pending: set[str] = set()
        self._scheduler = Scheduler(self, self._admit, self._request_flush, self._allow_preemption)
        self._specs = {spec.key: spec for spec in scenario.workloads}
        # Kueue's speedy backoff: None after an admitting cycle, else the last wait.
        self._backoff_ms: int | None = None
        self._cycle_due_ms: int | None = None
        # Preemption states seen since the last submission or finish (thrash detection).
        self._seen: dict[StateKey, int] = {}
        self._holding = False
        self._cycle_state = (0, 0)
        for spec in scenario.workloads:
            self._events.push(spec.submit_at_ms, EventKind.SUBMIT, spec.key)

    def next_event_ms(self) -> int | None:
        """When the next submission, finish, flush or cycle happens; None when nothing is left."""
        return self._events.next_ms()

    def run(self, until_ms: int | None = None) -> int:
        """Play on to ``until_ms`` (or until nothing is left); call again to continue.

        Returns:
            The simulated time reached.
        """
        until = until_ms if until_ms is not None else self.scenario.until_ms
        # The loop allocates many small, long-lived objects (conditions, ledger entries) and
        # no reference cycles; the cyclic collector would rescan them all again and again
        # (a fifth of a large replay's time), so it waits until the loop returns.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._play(until)
        finally:
            if collecting:
                gc.enable()
        if until is not None:
            self.now_ms = max(self.now_ms, until)
        return self.now_ms

    def _play(self, until: int | None) -> None:
        events = self._events
        while events:
            time_ms = events.next_ms()
            assert time_ms is not None
            if until is not None and time_ms > until:
                break
            self.now_ms = time_ms
            while events.next_ms() == time_ms:
                self._handle(events.pop())
            self._schedule()

    def _handle(self, event: Event) -> None:
        _, _, kind, key, token = event
        if kind is EventKind.SUBMIT:
            self._submit(self._specs[key])
            self._new_epoch()
        elif kind is EventKind.FINISH:
            if self._finish(key, token):
                self._new_epoch()
        elif kind is EventKind.FLUSH:
            self._flush_pending.discard(key)
            self.queues.flush(self.queues_of_root[key], self.cycle)
        elif kind is EventKind.CYCLE and self._cycle_due_ms == self.now_ms:
            self._cycle_due_ms = None

    def _new_epoch(self) -> None:
        """Something outside the scheduler happened: earlier states cannot recur as a loop."""
        self._seen.clear()
        self._holding = False

    def _schedule(self) -> None:
        """Run cycles now while they admit; after one that admits nothing, back off."""
        while not self._holding:
            if self._cycle_due_ms is not None and self._cycle_due_ms > self.now_ms:
                return
            self._cycle_state = (self.admitted_fingerprint, self.admitted_count)
            result = self._scheduler.cycle()
            if result.admitted:
                self._backoff_ms = None
                continue
            if result.preempted:
                # The victims' eviction completes within the cycle (see the module docstring).
                continue
            if not result.changed:
                return
            self._back_off()
            return

    def _back_off(self) -> None:
        wait = (
            BACKOFF_INITIAL_MS
            if self._backoff_ms is None
            else min(2 * self._backoff_ms, BACKOFF_MAX_MS)
        )
        self._backoff_ms = wait
        self._cycle_due_ms = self.now_ms + wait
        self._events.push(self._cycle_due_ms, EventKind.CYCLE)

    def _allow_preemption(self, preemptor: str, victims: tuple[str, ...]) -> bool:
        """Veto, and record as a thrash, a preemption already decided from this admitted set.

        Between two submissions or finishes the scheduler is deterministic, so the same
        preemption from the same admitted workloads starts the same loop again.
        """
        key: StateKey = (*self._cycle_state, preemptor, victims)
        since = self._seen.get(key)
        if since is None:
            self._seen[key] = self.now_ms
            return True
        self.thrashes.append(Thrash(self.now_ms, since, (preemptor,), victims))
        self._holding = True
        return False

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
            self.push_active(run)

    def _admit_preassigned(self, run: WorkloadRun) -> None:
        flavors_of = run.spec.preadmitted or {}
        usage: dict[FlavorResource, int] = {}
        for pod_set in run.spec.pod_sets:
            flavors = flavors_of.get(pod_set.name, {})
            for resource, amount in pod_set.requests.items():
                fr = (flavors.get(resource, ""), resource)
                usage[fr] = usage.get(fr, 0) + amount
        pod_sets = [
            PodSetAssignment(ps.name, dict(flavors_of.get(ps.name, {}))) for ps in run.spec.pod_sets
        ]
        self._admit(run, Assignment(pod_sets, Mode.FIT, 0, usage, set()))

    def _admit(self, run: WorkloadRun, assignment: Assignment) -> None:
        if self.admit(run, assignment) and run.spec.run_for_ms is not None:
            run.finish_token += 1
            self._events.push(
                self.now_ms + run.spec.run_for_ms,
                EventKind.FINISH,
                run.spec.key,
                run.finish_token,
            )

    def _finish(self, key: str, token: int) -> bool:
        run = self.runs[key]
        if run.running is None or run.finish_token != token:
            return False
        self.release(run)
        run.finished_ms = self.now_ms
        set_finished(run.conditions, _finished_message(run.spec), self.now_ms)
        self._request_flush(self.roots[run.cluster_queue])
        return True

    def _request_flush(self, root_name: str) -> None:
        """Coalesce flush requests for a cohort tree into one, ``FLUSH_DELAY_MS`` later."""
        if root_name not in self._flush_pending:
            self._flush_pending.add(root_name)
            self._events.push(self.now_ms + FLUSH_DELAY_MS, EventKind.FLUSH, root_name)


def _finished_message(spec: WorkloadSpec) -> str:
    if spec.job_uid is None:
        return "Finished after running for its taskgov.io/run-for"
    if spec.name.startswith("pytorchjob-"):
        return "PyTorchJob finished successfully"
    return "Reached expected number of succeeded pods"
