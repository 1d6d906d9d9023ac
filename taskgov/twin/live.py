"""Play a scenario in (scaled) real time into an :class:`ObjectStore` the API server serves."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from taskgov.kueue.schemas.defaults import with_defaults
from taskgov.twin.engine import Twin
from taskgov.twin.manifests import scenario_manifests
from taskgov.twin.queue_status import QueueStatus
from taskgov.twin.render import timestamp, workload_manifest
from taskgov.twin.scenario import Scenario, stable_uid
from taskgov.twin.store import ObjectStore, object_key

_RESOURCE_OF_KIND = {
    "ClusterQueue": "clusterqueues",
    "LocalQueue": "localqueues",
    "ResourceFlavor": "resourceflavors",
    "WorkloadPriorityClass": "workloadpriorityclasses",
    "Cohort": "cohorts",
}


def malformed_workloads(count: int) -> list[dict[str, Any]]:
    """Workloads no watcher can use: missing fields, wrong types, unknown API versions."""
    broken: list[dict[str, Any]] = []
    for i in range(count):
        name = f"malformed-{i:04d}"
        base: dict[str, Any] = {
            "apiVersion": "kueue.x-k8s.io/v1beta1",
            "kind": "Workload",
            "metadata": {
                "name": name,
                "namespace": "malformed",
                "uid": stable_uid("malformed", name),
                "creationTimestamp": "2025-01-01T00:00:00Z",
            },
            "spec": {
                "queueName": "lq",
                "podSets": [
                    {
                        "name": "main",
                        "count": 1,
                        "template": {
                            "spec": {
                                "containers": [
                                    {"name": "c", "resources": {"requests": {"cpu": "1"}}}
                                ]
                            }
                        },
                    }
                ],
            },
        }
        variant = i % 8
        if variant == 0:
            del base["spec"]
        elif variant == 1:
            base["spec"]["podSets"] = "main"
        elif variant == 2:
            base["spec"]["podSets"][0]["count"] = "two"
        elif variant == 3:
            base["apiVersion"] = "kueue.x-k8s.io/v9"
        elif variant == 4:
            base["status"] = {"conditions": "Admitted"}
        elif variant == 5:
            del base["metadata"]["uid"]
        elif variant == 6:
            base["spec"]["podSets"][0]["template"]["spec"]["containers"][0]["resources"][
                "requests"
            ]["cpu"] = "lots"
        else:
            base["status"] = {
                "conditions": [
                    {"type": "Admitted", "status": "True", "lastTransitionTime": "yesterday"}
                ]
            }
        broken.append(base)
    return broken


class LiveTwin:
    """Runs the twin on a thread, publishing every changed Workload as a new resourceVersion."""

    def __init__(
        self, scenario: Scenario, store: ObjectStore, speed: float = 1.0, malformed: int = 0
    ) -> None:
        self.twin = Twin(scenario)
        self.scenario = scenario
        self.store = store
        self.speed = speed
        self.malformed = malformed
        self.epoch = replay_epoch(scenario, speed, datetime.now(UTC))
        self.queue_status = QueueStatus(scenario.cluster_queues, timestamp(0, self.epoch))
        # The manifests of ClusterQueues and LocalQueues, to publish again with a new status.
        self._queue_manifests: dict[tuple[str, str], dict[str, Any]] = {}
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="twin", daemon=True)
        self._published_runs = 0
        self._published_ledger = 0

    def start(self, paused: bool = False) -> None:
        self._publish_static()
        for obj in malformed_workloads(self.malformed):
            self.store.put("workloads", obj)
        if not paused:
            self._thread.start()

    def resume(self) -> None:
        """Start the clock of a twin started paused."""
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _publish_static(self) -> None:
        # A scenario built from a trace has no manifests of its own: render its objects.
        manifests = self.scenario.manifests or scenario_manifests(self.scenario, self.epoch)
        for manifest in manifests:
            kind = str(manifest.get("kind"))
            if kind not in _RESOURCE_OF_KIND:
                continue
            obj = dict(with_defaults(manifest))
            metadata = dict(obj.get("metadata") or {})
            metadata.setdefault(
                "uid",
                stable_uid(kind, str(metadata.get("namespace", "")), str(metadata.get("name"))),
            )
            metadata.setdefault("creationTimestamp", timestamp(0, self.epoch))
            obj["metadata"] = metadata
            resource = _RESOURCE_OF_KIND[kind]
            if resource in ("clusterqueues", "localqueues"):
                self._queue_manifests[(resource, object_key(obj))] = obj
                continue
            self.store.put(resource, obj)
        for resource, key in self._queue_manifests:
            self._publish_queue(resource, key)

    def _publish_queue(self, resource: str, key: str) -> None:
        """Publish a ClusterQueue or LocalQueue with its current ``status``."""
        obj = dict(self._queue_manifests[(resource, key)])
        if resource == "clusterqueues":
            obj["status"] = self.queue_status.cluster_queue(key)
        else:
            cluster_queue = str((obj.get("spec") or {}).get("clusterQueue", ""))
            obj["status"] = self.queue_status.local_queue(key, cluster_queue)
        self.store.put(resource, obj)

    def _loop(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set():
            next_ms = self.twin.next_event_ms()
            if next_ms is None:
                break
            wake = started + next_ms / 1000 / self.speed
            while not self._stop.is_set() and time.monotonic() < wake:
                time.sleep(min(0.05, max(0.0, wake - time.monotonic())))
            if self._stop.is_set():
                break
            self.twin.run(next_ms)
            self._publish()
        self.done.set()

    def _publish(self) -> None:
        keys = self.twin.submitted[self._published_runs :]
        self._published_runs += len(keys)
        ledger = self.twin.ledger
        changed = dict.fromkeys(keys)
        changed.update(
            dict.fromkeys(change.workload for change in ledger[self._published_ledger :])
        )
        self._published_ledger = len(ledger)
        queues: set[tuple[str, str]] = set()
        for key in changed:
            run = self.twin.runs[key]
            self.store.put("workloads", workload_manifest(run, epoch=self.epoch))
            cluster_queue, local_queue = self.queue_status.update(run)
            queues.update((("clusterqueues", cluster_queue), ("localqueues", local_queue)))
        for resource, key in sorted(queues):
            if (resource, key) in self._queue_manifests:
                self._publish_queue(resource, key)


def replay_epoch(scenario: Scenario, speed: float, now: datetime) -> datetime:
    """When simulated time 0 is, so that no creationTimestamp is ever in the future.

    At ``speed`` s, a Workload submitted at simulated ``t`` is published at wall time
    ``start + t / s``; with time 0 at ``start``, its creationTimestamp ``start + t`` would be
    ahead of the wall clock (kubectl's AGE ``<invalid>``). Setting time 0 back by
    ``T * (1 - 1/s)``, T the last submission (or the scenario's end), keeps every
    creationTimestamp at or before the moment it is published: the replayed history lies in
    the recent past, and the last submission is stamped the moment it is published.
    """
    start = now.replace(microsecond=0)
    if speed <= 1:
        return start
    horizon_ms = max((w.submit_at_ms for w in scenario.workloads), default=0)
    horizon_ms = max(horizon_ms, scenario.until_ms or 0)
    lead_ms = int(horizon_ms * (1 - 1 / speed))
    return start - timedelta(milliseconds=-(-lead_ms // 1000) * 1000)
