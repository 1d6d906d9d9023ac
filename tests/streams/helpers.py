"""What the twin's own ledger says the watcher must send, and reading it back from Kafka."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from typing import Any

from kafka import KafkaConsumer

from streams.events import event_id
from taskgov.twin.engine import Twin
from taskgov.twin.objects import (
    ClusterQueue,
    Cohort,
    FlavorQuotas,
    LocalQueue,
    PodSet,
    Preemption,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuota,
    WorkloadSpec,
)
from taskgov.twin.scenario import Scenario, stable_uid

# A condition turning True is one transition; every eviction in the twin is released at once.
_TYPE_OF = {
    "QuotaReserved": "quota_reserved",
    "Admitted": "admitted",
    "Evicted": "evicted",
    "Preempted": "preempted",
    "Finished": "finished",
}


def ledger_transitions(twin: Twin) -> dict[str, list[tuple[str, int, int]]]:
    """Per workload UID, (event type, ordinal, time ms) in the order the twin made them."""
    result: dict[str, list[tuple[str, int, int]]] = {}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, run in twin.runs.items():
        del key
        result[run.spec.uid] = [("submitted", 1, run.created_ms)]
        counts[run.spec.uid]["submitted"] = 1
    for change in twin.ledger:
        uid = twin.runs[change.workload].spec.uid
        if change.status != "True" or change.type not in _TYPE_OF:
            continue
        kinds = [_TYPE_OF[change.type]] + (["requeued"] if change.type == "Preempted" else [])
        for kind in kinds:
            counts[uid][kind] += 1
            result[uid].append((kind, counts[uid][kind], change.time_ms))
    return result


def expected_ids(twin: Twin, cluster: str) -> set[str]:
    return {
        event_id(cluster, uid, kind, ordinal)
        for uid, transitions in ledger_transitions(twin).items()
        for kind, ordinal, _ in transitions
    }


def read_topic(bootstrap: str, topic: str, idle_ms: int = 3000) -> list[dict[str, Any]]:
    """Every record of ``topic``, in partition order, as decoded JSON."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=idle_ms,
    )
    try:
        return [json.loads(record.value) for record in consumer]
    finally:
        consumer.close()


def busy_cluster(workloads: int, seed: int = 7, every_ms: int = 10) -> Scenario:
    """Four GPU ClusterQueues in one cohort, flooded with jobs of mixed size and priority."""
    rng = random.Random(seed)  # noqa: S311 - test data
    scenario = Scenario()
    scenario.flavors["ml.p4d.24xlarge"] = ResourceFlavor("ml.p4d.24xlarge")
    scenario.cohorts["pool"] = Cohort("pool")
    for team in ("a", "b", "c", "d"):
        name = f"team-{team}"
        quota = ResourceQuota(nominal=16, borrowing_limit=16)
        group = ResourceGroup(
            ("nvidia.com/gpu",), (FlavorQuotas("ml.p4d.24xlarge", {"nvidia.com/gpu": quota}),)
        )
        scenario.cluster_queues[name] = ClusterQueue(
            name, "pool", (group,), preemption=Preemption("LowerPriority", "Any")
        )
        scenario.local_queues[(name, "lq")] = LocalQueue(name, "lq", name)
    for i in range(workloads):
        team = f"team-{rng.choice('abcd')}"
        name = f"job-{i:05d}"
        scenario.workloads.append(
            WorkloadSpec(
                namespace=team,
                name=name,
                uid=stable_uid(team, name),
                queue_name="lq",
                priority=rng.choice((0, 0, 0, 100)),
                priority_class=None,
                pod_sets=(PodSet("main", 1, {"nvidia.com/gpu": rng.choice((1, 2, 4, 8))}),),
                submit_at_ms=i * every_ms,
                run_for_ms=rng.randint(50, 300),
                document=i,
            )
        )
    return scenario
