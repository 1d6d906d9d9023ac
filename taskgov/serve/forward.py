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


@dataclass(frozen=True, slots=True)
class Forecast:
    """When the twin admits each Workload, and which finished before the target started.

    Attributes:
        admitted_at: first admission per ``namespace/name`` (absent: not within the horizon).
        finished_before: Workloads that finished before ``target`` was admitted, in order.
        assumptions: what the run assumed, in words.
    """

    admitted_at: dict[str, datetime]
    finished_before: list[str]
    assumptions: list[str]


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


def forecast(
    workloads: list[dict[str, Any]],
    quotas: list[dict[str, Any]],
    at: datetime,
    runtime: timedelta,
    target: str,
) -> Forecast:
    """Play the state at ``at`` forward on the twin until ``target`` is admitted or nothing
    is left to happen.

    Args:
        workloads: rows of ``sql/serve/why_workloads.sql`` (one cluster).
        quotas: rows of ``sql/serve/why_quotas.sql`` (the same cluster).
        at: the instant the state is taken at (the run's time zero).
        runtime: how long each Workload runs once admitted (an assumption).
        target: ``namespace/name`` of the Workload whose start is wanted.
    """
    twin = Twin(_scenario(workloads, quotas, at, runtime))
    twin.run()
    admitted: dict[str, datetime] = {}
    finished: list[tuple[int, str]] = []
    for change in twin.ledger:
        moment = at + timedelta(milliseconds=change.time_ms)
        if change.type == "Admitted" and change.status == "True":
            admitted.setdefault(change.workload, moment)
        if change.type == "Finished" and change.status == "True":
            finished.append((change.time_ms, change.workload))
    start = admitted.get(target)
    start_ms = (start - at).total_seconds() * 1000 if start else float("inf")
    return Forecast(
        admitted_at=admitted,
        finished_before=[w for t, w in sorted(finished) if t <= start_ms],
        assumptions=[
            "ClusterQueues as HyperPod compiles them: BestEffortFIFO, withinClusterQueue "
            "LowerPriority, reclaimWithinCohort Any",
            f"each running workload finishes {_words(runtime)} after its admission (at least "
            "1 min from now); each pending one runs that long once admitted",
            "nothing new is submitted; pending workloads queue in their creation order",
        ],
    )


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
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
