"""Random but reproducible event sets: many Workloads of several teams with varied lives."""

from __future__ import annotations

import random
from datetime import timedelta

from streams.events import ClusterQueueEvent, WorkloadEvent
from streams.normalize import normalize_cluster_queue
from taskgov.cli.demo import SEED_SCENARIO, seed_scenario_text
from taskgov.policy.load import read_documents
from taskgov.scenarios import scenario_from_documents
from taskgov.twin.manifests import cluster_queue_manifest
from taskgov.twin.render import EPOCH
from tests.sql.builders import DAY, make_cluster_queue, make_workload
from tests.streams.helpers import twin_events

FLAVORS = ("ml.g5.8xlarge", "ml.p4d.24xlarge")
TEAMS = ("team-a", "team-b", "team-c")
MESSAGES = (
    "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in "
    "flavor {flavor}, 2 more needed",
    "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in "
    "flavor {flavor}, 2 more needed. Pending the preemption of 1 workload(s)",
    "couldn't assign flavors to pod set main: flavor {flavor} doesn't match node affinity",
    "ClusterQueue hyperpod-ns-team-clusterqueue is inactive",
)


def random_events(seed: int, workloads: int = 40) -> list[WorkloadEvent | ClusterQueueEvent]:
    """ClusterQueues of three teams (one changes quota, one joins later) and their Workloads."""
    rng = random.Random(seed)
    events: list[WorkloadEvent | ClusterQueueEvent] = []
    for team in TEAMS:
        queue = make_cluster_queue(f"{team}-cq")
        for flavor in FLAVORS:
            queue.nominal(flavor, "gpu", rng.choice((2, 4, 8))).nominal(flavor, "cpu", 64_000)
            queue.nominal(flavor, "memory", 2**38)
        queue.changed(DAY + timedelta(minutes=rng.randrange(0, 30)))
        if team == "team-b":
            queue.nominal(FLAVORS[0], "gpu", 1).changed(DAY + timedelta(minutes=95, seconds=17))
        if team == "team-c":
            queue.cohort("other-pool").changed(DAY + timedelta(minutes=130))
        events.extend(queue.events())
    for i in range(workloads):
        events.extend(_life(rng, f"w{i}", [f"w{j}" for j in range(workloads) if j != i]))
    return events


def _life(rng: random.Random, name: str, others: list[str]) -> list[WorkloadEvent]:
    flavor = rng.choice(FLAVORS)
    builder = (
        make_workload(name)
        .team(rng.choice(TEAMS))
        .gpus(rng.choice((1, 2, 4, 8)))
        .requests(cpu=rng.choice((4000, 16000)), memory=2**34)
        .flavor(flavor)
        .priority_class(rng.choice(("training", "inference")), 0)
    )
    t = DAY + timedelta(minutes=rng.randrange(0, 180), seconds=rng.randrange(0, 60))

    def step(low: int, high: int) -> None:
        nonlocal t
        t += timedelta(seconds=rng.randrange(low, high))

    builder.event(t, "submitted")
    step(0, 20)
    builder.event(t, "pending", message=rng.choice(MESSAGES).format(flavor=flavor))
    for round_ in range(rng.randrange(1, 4)):
        step(0, 1800)
        if rng.random() < 0.1:
            builder.event(t, "deleted")
            return builder.events()
        builder.event(t, "quota_reserved")
        builder.event(t, "admitted")
        step(30, 3600)
        if round_ == 2 or rng.random() < 0.5:
            builder.event(t, "finished")
            return builder.events()
        builder.event(
            t, "preempted", reason="InCohortReclamation", preemptor_uid=f"uid-{rng.choice(others)}"
        )
        builder.event(t, "evicted", reason="Preempted")
        step(1, 60)
        builder.event(t, "requeued")
    return builder.events()


def seed_events() -> list[WorkloadEvent | ClusterQueueEvent]:
    """The seed's scenario (HyperPod's example) as the watcher sends it: queues, then jobs."""
    scenario = scenario_from_documents(read_documents(seed_scenario_text(), SEED_SCENARIO))
    _, events = twin_events(scenario, "seed")
    queues = [
        normalize_cluster_queue(cluster_queue_manifest(queue), "seed", EPOCH)
        for queue in scenario.cluster_queues.values()
    ]
    return [*queues, *events]
