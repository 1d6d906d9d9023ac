"""Run the twin forward from the record's state at one instant, to estimate when a pending
Workload starts.

The record holds quotas and Workloads but not everything Kueue reads, so the run rests on
assumptions, returned with the answer:
- every ClusterQueue is as HyperPod compiles it: BestEffortFIFO, ``withinClusterQueue:
  LowerPriority``, ``reclaimWithinCohort: Any``, one resource group per ClusterQueue;
- each running Workload finishes ``runtime`` after its admission (at least a minute from now),
  each pending one runs ``runtime`` once admitted;
- nothing new is submitted; pending Workloads queue again in their creation order.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from taskgov.twin.build import cluster_queue
from taskgov.twin.engine import Twin
from taskgov.twin.objects import (
    ClusterQueue,
    Cohort,
    LocalQueue,
    PodSet,
    ResourceFlavor,
    ResourceQuota,
    WorkloadSpec,
)
from taskgov.twin.scenario import Scenario

MIN_REMAINING = timedelta(minutes=1)
# How far ahead a run looks: an estimate beyond it says so rather than playing on.
HORIZON = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Forecast:
    """When the twin admits each Workload, and which finished before the target started.

    Attributes:
        admitted_at: first admission per ``namespace/name`` (absent: not within the horizon).
        finished_before: Workloads that finished before ``target`` was admitted, in order.
        assumptions: what the run assumed, in words.
        ran_out: the horizon came before the target was admitted (it may start later).
    """

    admitted_at: dict[str, datetime]
    finished_before: list[str]
    assumptions: list[str]
    ran_out: bool = False


def _cluster_queues(quotas: list[dict[str, Any]]) -> dict[str, ClusterQueue]:
    lines: dict[str, dict[str, dict[str, ResourceQuota]]] = defaultdict(lambda: defaultdict(dict))
    cohorts: dict[str, str | None] = {}
    for q in quotas:
        lines[q["cluster_queue"]][q["flavor"]][q["resource"]] = ResourceQuota(
            q["nominal"], q["borrowing_limit"], q["lending_limit"]
        )
        cohorts[q["cluster_queue"]] = q["cohort"]
    return {name: cluster_queue(name, cohorts[name], flavors) for name, flavors in lines.items()}


def _spec(row: dict[str, Any], queue: ClusterQueue, submit_ms: int, run_ms: int) -> WorkloadSpec:
    covered = set(queue.resource_groups[0].covered_resources)
    requests = {k: int(v) for k, v in (row["requests"] or {}).items() if k in covered}
    preadmitted = None
    if row["phase"] == "admitted":
        preadmitted = {"main": {resource: row["instance_type"] for resource in requests}}
    return WorkloadSpec(
        namespace=row["namespace"],
        name=row["name"],
        uid=row["uid"],
        queue_name=row["local_queue"],
        priority=int(row["priority"]),
        priority_class=row["priority_class"],
        pod_sets=(PodSet("main", 1, requests),),
        submit_at_ms=submit_ms,
        run_for_ms=run_ms,
        preadmitted=preadmitted,
        preadmitted_cluster_queue=queue.name if preadmitted else None,
    )


class ForwardRun:
    """One twin run from the record's state at an instant, played only as far as the
    questions asked of it need: each :meth:`forecast` goes on from where the last one stopped
    until its target is admitted, nothing is left to happen, or the horizon is reached. The
    twin is deterministic, so an answer read part way is the one a full run would give; a
    server keeps one per watermark (``why.py``) and repeated or neighbouring asks are instant.
    """

    def __init__(
        self,
        workloads: list[dict[str, Any]],
        quotas: list[dict[str, Any]],
        at: datetime,
        runtime: timedelta,
        horizon: timedelta = HORIZON,
    ) -> None:
        self._twin = Twin(_scenario(workloads, quotas, at, runtime))
        self._at = at
        self._runtime = runtime
        self._horizon_ms = int(horizon.total_seconds() * 1000)
        self.horizon_words = _words(horizon)
        self._read = 0
        self._admitted: dict[str, datetime] = {}
        self._finished: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def forecast(self, target: str) -> Forecast:
        """When ``target`` (``namespace/name``) is admitted, and what finished before it."""
        with self._lock:
            ended = self._play_until_admitted(target)
            start = self._admitted.get(target)
            start_ms = (start - self._at).total_seconds() * 1000 if start else float("inf")
            return Forecast(
                admitted_at=dict(self._admitted),
                finished_before=[w for t, w in sorted(self._finished) if t <= start_ms],
                assumptions=_assumptions(self._runtime),
                ran_out=start is None and not ended,
            )

    def _play_until_admitted(self, target: str) -> bool:
        """Play on, one event time at a time; True when nothing is left to happen."""
        twin = self._twin
        while target not in self._admitted:
            due = twin.next_event_ms()
            if due is None:
                return True
            if due > self._horizon_ms:
                return False
            twin.run(until_ms=due)
            self._read_ledger()
        return False

    def _read_ledger(self) -> None:
        ledger = self._twin.ledger
        for change in ledger[self._read :]:
            if change.type == "Admitted" and change.status == "True":
                moment = self._at + timedelta(milliseconds=change.time_ms)
                self._admitted.setdefault(change.workload, moment)
            if change.type == "Finished" and change.status == "True":
                self._finished.append((change.time_ms, change.workload))
        self._read = len(ledger)


def forecast(
    workloads: list[dict[str, Any]],
    quotas: list[dict[str, Any]],
    at: datetime,
    runtime: timedelta,
    target: str,
) -> Forecast:
    """Play the state at ``at`` forward on the twin until ``target`` is admitted, nothing is
    left to happen, or the horizon is reached (a :class:`ForwardRun` asked once).

    Args:
        workloads: rows of ``sql/serve/why_workloads.sql`` (one cluster).
        quotas: rows of ``sql/serve/why_quotas.sql`` (the same cluster).
        at: the instant the state is taken at (the run's time zero).
        runtime: how long each Workload runs once admitted (an assumption).
        target: ``namespace/name`` of the Workload whose start is wanted.
    """
    return ForwardRun(workloads, quotas, at, runtime).forecast(target)


def _assumptions(runtime: timedelta) -> list[str]:
    return [
        "ClusterQueues as HyperPod compiles them: BestEffortFIFO, withinClusterQueue "
        "LowerPriority, reclaimWithinCohort Any",
        f"each running workload finishes {_words(runtime)} after its admission (at least "
        "1 min from now); each pending one runs that long once admitted",
        "nothing new is submitted; pending workloads queue in their creation order",
    ]


def cohort_of(team: str, quotas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The quota lines of ``team``'s ClusterQueue and of every ClusterQueue in its cohort:
    all the run needs, since Kueue lends, borrows and reclaims only within a cohort."""
    queue = next((q["cluster_queue"] for q in quotas if q["team"] == team), None)
    cohort = next((q["cohort"] for q in quotas if q["cluster_queue"] == queue), None)
    return [
        q
        for q in quotas
        if q["cluster_queue"] == queue or (cohort is not None and q["cohort"] == cohort)
    ]


def _scenario(
    workloads: list[dict[str, Any]], quotas: list[dict[str, Any]], at: datetime, runtime: timedelta
) -> Scenario:
    """The record's state at ``at`` as a twin scenario: running Workloads first, preadmitted
    at time zero, then the pending ones one millisecond apart in creation order (so the
    twin queues them as Kueue did). A Workload whose queue the record lacks is left out."""
    queues = _cluster_queues(quotas)
    queue_of_team = {q["team"]: q["cluster_queue"] for q in quotas}
    scenario = Scenario()
    scenario.cluster_queues = queues
    scenario.cohorts = {c: Cohort(c) for c in {q.cohort for q in queues.values()} if c}
    scenario.flavors = {q["flavor"]: ResourceFlavor(q["flavor"]) for q in quotas}
    pending = sorted(
        (w for w in workloads if w["phase"] == "pending"), key=lambda w: str(w["created_at"])
    )
    running = [w for w in workloads if w["phase"] == "admitted"]
    for order, row in enumerate([*running, *pending]):
        queue = queues.get(row["cluster_queue"] or queue_of_team.get(row["team"], ""))
        if queue is None:
            continue
        scenario.local_queues[(row["namespace"], row["local_queue"])] = LocalQueue(
            row["namespace"], row["local_queue"], queue.name
        )
        submit_ms = 0 if order < len(running) else order
        scenario.workloads.append(_spec(row, queue, submit_ms, _run_ms(row, at, runtime)))
    return scenario


def _run_ms(row: dict[str, Any], at: datetime, runtime: timedelta) -> int:
    """How long the Workload runs from time zero: ``runtime``, less what a running one has
    already run (but at least a minute, since it still runs at ``at``)."""
    if row["phase"] != "admitted":
        return int(runtime.total_seconds() * 1000)
    since = datetime.fromisoformat(str(row["phase_since"]).removesuffix("Z"))
    left = max(since + runtime - at.replace(tzinfo=None), MIN_REMAINING)
    return int(left.total_seconds() * 1000)


def _words(span: timedelta) -> str:
    if span >= timedelta(days=1) and span % timedelta(days=1) == timedelta(0):
        return "1 day" if span.days == 1 else f"{span.days} days"
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
