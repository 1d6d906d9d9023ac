"""Synthetic event streams whose contents are known in advance, for the tests and benches.

A contended twin run (:func:`busy_cluster`) is rendered and normalized exactly as the watcher
does (:func:`twin_events`), then replayed as several clusters staggered in time
(:func:`replay`), with the records the watchers would send to Kafka (:func:`produce`). The
twin's own ledger says which transitions must arrive (:func:`ledger_transitions`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiokafka import AIOKafkaProducer

from streams.events import ClusterQueueEvent, DeadLetter, WorkloadEvent, event_id
from streams.normalize import (
    MalformedObject,
    WorkloadMemory,
    normalize_cluster_queue,
    normalize_workload,
    pending_digest,
)
from taskgov.twin.build import add_queue, cluster_queue, one_pod_workload
from taskgov.twin.engine import Twin
from taskgov.twin.live import malformed_workloads
from taskgov.twin.manifests import cluster_queue_manifest
from taskgov.twin.objects import Cohort, ResourceFlavor, ResourceQuota
from taskgov.twin.render import EPOCH, workload_manifest
from taskgov.twin.scenario import Scenario

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


def busy_cluster(
    workloads: int, seed: int = 7, every_ms: int = 10, time_scale: int = 1
) -> Scenario:
    """Four GPU ClusterQueues in one cohort, flooded with jobs of mixed size and priority.

    ``time_scale`` stretches arrivals and run times alike (the load stays the same): with
    ``every_ms=10, time_scale=1000`` a job arrives every 10 s and runs 50 s to 5 min.
    """
    rng = random.Random(seed)  # noqa: S311 - test data
    scenario = Scenario()
    scenario.flavors["ml.p4d.24xlarge"] = ResourceFlavor("ml.p4d.24xlarge")
    scenario.cohorts["pool"] = Cohort("pool")
    quotas = {"ml.p4d.24xlarge": {"nvidia.com/gpu": ResourceQuota(nominal=16, borrowing_limit=16)}}
    for team in ("a", "b", "c", "d"):
        add_queue(scenario, cluster_queue(f"team-{team}", "pool", quotas), "lq")
    for i in range(workloads):
        # Drawn in this order, so a seed gives the same jobs it always gave.
        team = f"team-{rng.choice('abcd')}"
        priority = rng.choice((0, 0, 0, 100))
        gpus = rng.choice((1, 2, 4, 8))
        scenario.workloads.append(
            one_pod_workload(
                team,
                f"job-{i:05d}",
                "lq",
                {"nvidia.com/gpu": gpus},
                priority=priority,
                submit_at_ms=i * every_ms * time_scale,
                run_for_ms=rng.randint(50, 300) * time_scale,
                document=i,
            )
        )
    return scenario


def twin_events(scenario: Scenario, cluster: str = "default") -> tuple[Twin, list[WorkloadEvent]]:
    """Play ``scenario`` and turn it into the events the watcher would send, in order.

    As ``taskgov twin serve`` does, every Workload that changed at an instant is rendered
    (``workload_manifest``) after the instant, then normalized like the watcher's relist does.
    """
    twin = Twin(scenario)
    memory: dict[str, WorkloadMemory] = {}
    runs_seen = ledger_seen = 0
    events: list[WorkloadEvent] = []
    while (next_ms := twin.next_event_ms()) is not None:
        twin.run(next_ms)
        changed = dict.fromkeys(twin.submitted[runs_seen:])
        runs_seen = len(twin.submitted)
        changed.update(dict.fromkeys(change.workload for change in twin.ledger[ledger_seen:]))
        ledger_seen = len(twin.ledger)
        observed = EPOCH + timedelta(milliseconds=next_ms)
        for key in changed:
            run = twin.runs[key]
            state = memory.setdefault(run.spec.uid, WorkloadMemory())
            events += normalize_workload(workload_manifest(run), cluster, observed, state)
    return twin, events


@functools.cache
def cluster_uid(cluster: str, uid: str) -> str:
    """The UID a twin Workload has in one of several clusters (UIDs are unique everywhere)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"taskgov-replay/{cluster}/{uid}"))


def moved(event: WorkloadEvent, cluster: str, shift: timedelta) -> WorkloadEvent:
    """The same transition seen in another cluster, ``shift`` later: that cluster's UIDs
    (the preemptor's too, also in the message) and so that cluster's event id."""
    uid = cluster_uid(cluster, event.uid)
    message = event.message
    preemptor = event.preemptor_uid and cluster_uid(cluster, event.preemptor_uid)
    if message and event.preemptor_uid and preemptor:
        message = message.replace(event.preemptor_uid, preemptor)
    ordinal: int | str = event.ordinal
    if event.event_type == "pending":
        ordinal = f"{event.ordinal}:{pending_digest(message or '')}"
    # model_construct: the fields were validated once already; this is a third of model_copy.
    return WorkloadEvent.model_construct(
        **{
            **event.__dict__,
            "cluster": cluster,
            "uid": uid,
            "preemptor_uid": preemptor,
            "message": message,
            "event_id": event_id(cluster, uid, event.event_type, ordinal),
            "occurred_at": event.occurred_at + shift,
            "observed_at": event.observed_at + shift,
            "created_at": event.created_at + shift,
        }
    )


@dataclass
class Replay:
    """Several clusters replaying one twin run, staggered in time, as the watchers send it.

    Attributes:
        twin: the twin run every cluster replays (its ledger is the truth).
        clusters: cluster names; cluster ``k`` runs ``k * stagger`` after cluster 0.
        events: every distinct Workload and ClusterQueue event, in the order they are sent.
        dead_letters: what the watchers could not read.
        redelivered: how many events are sent twice (at-least-once upstream).
    """

    twin: Twin
    clusters: list[str]
    events: list[WorkloadEvent | ClusterQueueEvent]
    dead_letters: list[DeadLetter]
    redelivered: int = 0
    records: list[tuple[str, str, bytes]] = field(default_factory=list)

    def ledger_ids(self) -> set[str]:
        """The ids of every counted transition, per the twin's ledger, in every cluster."""
        transitions = ledger_transitions(self.twin)
        return {
            event_id(cluster, cluster_uid(cluster, uid), kind, ordinal)
            for cluster in self.clusters
            for uid, steps in transitions.items()
            for kind, ordinal, _ in steps
        }


def replay(
    workloads: int,
    clusters: int,
    *,
    seed: int = 7,
    stagger: timedelta = timedelta(minutes=97),
    redeliver_every: int = 0,
    dead_letters: int = 8,
) -> Replay:
    """A realistic multi-cluster event stream whose expected contents are known.

    One contended twin run (``busy_cluster`` at minute scale: a job every 10 s, running 50 s
    to 5 min) rendered and normalized like the watcher does, then repeated as ``clusters``
    clusters, each ``stagger`` after the previous, merged in the order they are observed.
    Every ``redeliver_every``-th Workload record is sent twice; ``dead_letters`` malformed
    Workloads per cluster go to the dead-letter topic.

    ``records`` holds (topic kind, key, JSON) as the watcher would send them: kind
    ``workload-events`` (key: uid), ``clusterqueue-events`` (key: name) or ``dead-letter``.
    """
    scenario = busy_cluster(workloads, seed=seed, time_scale=1000)
    names = [f"cluster-{k:02d}" for k in range(clusters)]
    twin, base = twin_events(scenario, names[0])
    timed: list[tuple[datetime, int, WorkloadEvent | ClusterQueueEvent]] = []
    letters: list[DeadLetter] = []
    for k, cluster in enumerate(names):
        shift = stagger * k
        epoch = EPOCH + shift
        for queue in scenario.cluster_queues.values():
            quota = normalize_cluster_queue(cluster_queue_manifest(queue, epoch), cluster, epoch)
            timed.append((epoch, len(timed), quota))
        for event in base:
            copy = moved(event, cluster, shift)
            timed.append((copy.observed_at, len(timed), copy))
        letters += _dead_letters(cluster, epoch, dead_letters)
    timed.sort(key=lambda item: (item[0], item[1]))
    result = Replay(twin, names, [event for _, _, event in timed], letters)
    result.records = _records(result.events, letters, redeliver_every)
    result.redelivered = len(result.records) - len(result.events) - len(letters)
    return result


def _dead_letters(cluster: str, epoch: datetime, count: int) -> list[DeadLetter]:
    """What the watcher of ``cluster`` sends for ``count`` malformed Workloads."""
    letters = []
    for broken in malformed_workloads(count):
        try:
            normalize_workload(broken, cluster, epoch, WorkloadMemory())
        except MalformedObject as error:
            raw = json.dumps(broken, default=str)
            letters.append(
                DeadLetter(
                    cluster=cluster, kind="Workload", reason=str(error), raw=raw, observed_at=epoch
                )
            )
    return letters


def _records(
    events: list[WorkloadEvent | ClusterQueueEvent],
    letters: list[DeadLetter],
    redeliver_every: int,
) -> list[tuple[str, str, bytes]]:
    """(topic kind, key, JSON) per event as the watchers send them, every
    ``redeliver_every``-th Workload record twice, then the dead letters."""
    records: list[tuple[str, str, bytes]] = []
    for n, event in enumerate(events):
        if isinstance(event, WorkloadEvent):
            record = ("workload-events", event.uid, event.model_dump_json().encode())
            records.append(record)
            if redeliver_every and n % redeliver_every == 0:
                records.append(record)
        else:
            records.append(("clusterqueue-events", event.name, event.model_dump_json().encode()))
    for letter in letters:
        records.append(("dead-letter", letter.cluster, letter.model_dump_json().encode()))
    return records


def produce(
    bootstrap: str, prefix: str, records: Iterable[tuple[str, str, bytes]]
) -> list[tuple[str, int, int]]:
    """Send (topic kind, key, value) records to ``PREFIX.<kind>``, in order, acks from all.

    aiokafka, not kafka-python: without the optional ``crc32c`` package kafka-python checksums
    record batches in pure Python, about ten times slower (3k against 30k records/s here).
    aiokafka keeps one batch in flight per partition, so each key's records stay in order.

    Returns:
        Where each record landed: (topic, partition, offset), in the order given.
    """

    async def send_all() -> list[tuple[str, int, int]]:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            linger_ms=20,
            max_batch_size=256 * 1024,
            max_request_size=8 * 1024 * 1024,
        )
        await producer.start()
        try:
            futures = [
                await producer.send(f"{prefix}.{kind}", key=key.encode(), value=value)
                for kind, key, value in records
            ]
            return [(m.topic, m.partition, m.offset) for m in await asyncio.gather(*futures)]
        finally:
            await producer.stop()

    return asyncio.run(send_all())
