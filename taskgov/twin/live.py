"""Play a scenario in (scaled) real time into an :class:`ObjectStore` the API server serves."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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


# At most this often (wall seconds) a replay faster than the wall clock republishes queue status.
QUEUE_STATUS_EVERY_S = 0.1


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
        self._queue_statuses: dict[tuple[str, str], dict[str, Any]] = {}
        self._dirty_queues: set[tuple[str, str]] = set()
        self._queues_published_at = 0.0
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="twin", daemon=True)
        self._published_runs = 0
        self._published_ledger = 0
        # Changes made through the API (a ClusterQueue patch) and the clock share the engine.
        self._engine_lock = threading.Lock()
        self._wakeup = threading.Event()
        self._started_at: float | None = None

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
        """Publish a ClusterQueue or LocalQueue with its current ``status``, if it changed."""
        obj = dict(self._queue_manifests[(resource, key)])
        if resource == "clusterqueues":
            status = self.queue_status.cluster_queue(key)
        else:
            cluster_queue = str((obj.get("spec") or {}).get("clusterQueue", ""))
            status = self.queue_status.local_queue(key, cluster_queue)
        if self._queue_statuses.get((resource, key)) == status:
            return
        self._queue_statuses[(resource, key)] = status
        obj["status"] = status
        self.store.put(resource, obj, known_changed=True)

    def _loop(self) -> None:
        started = self._started_at = time.monotonic()
        while not self._stop.is_set():
            next_ms = self.twin.next_event_ms()
            if next_ms is None:
                break
            wake = started + next_ms / 1000 / self.speed
            if time.monotonic() < wake:
                with self._engine_lock:  # caught up with the wall clock: queues are current
                    self._publish_queues()
            self._wakeup.clear()
            while not self._stop.is_set() and time.monotonic() < wake:
                if self._wakeup.wait(min(0.05, max(0.0, wake - time.monotonic()))):
                    break
            if self._stop.is_set():
                break
            if time.monotonic() < wake:
                continue
            with self._engine_lock:
                self.twin.run(next_ms)
                self._publish()
                if time.monotonic() - self._queues_published_at > QUEUE_STATUS_EVERY_S:
                    self._publish_queues()
        with self._engine_lock:
            self._publish_queues()
        self.done.set()

    def change(self, apply: Callable[[Twin], None], cluster_queue: dict[str, Any]) -> None:
        """Run ``apply`` on the engine at the current simulated instant, then publish.

        The twin first plays on to now, so the change lands between the events before and
        after it, as a change to a real cluster does; what it causes at that instant (a
        scheduling cycle, preemptions) is played and published before this returns.
        ``cluster_queue`` is the changed manifest, served from now on with its status.
        """
        with self._engine_lock:
            started = self._started_at
            now_ms = self.twin.now_ms
            if started is not None:
                now_ms = max(now_ms, int((time.monotonic() - started) * 1000 * self.speed))
            self.twin.run(now_ms)
            apply(self.twin)
            self.twin.run(now_ms)
            manifest = {k: v for k, v in cluster_queue.items() if k != "status"}
            name = str(manifest["metadata"]["name"])
            self._queue_manifests[("clusterqueues", name)] = manifest
            self._queue_statuses.pop(("clusterqueues", name), None)
            self._dirty_queues.add(("clusterqueues", name))
            self._publish()
            self._publish_queues()
        self._wakeup.set()

    def _publish_queues(self) -> None:
        """Publish the queues whose status changed since the last time.

        Kueue also writes queue status in batches, not at every admission; a replay faster
        than the wall clock publishes them at most every ``QUEUE_STATUS_EVERY_S``.
        """
        for resource, key in sorted(self._dirty_queues):
            if (resource, key) in self._queue_manifests:
                self._publish_queue(resource, key)
        self._dirty_queues.clear()
        self._queues_published_at = time.monotonic()

    def _publish(self) -> None:
        keys = self.twin.submitted[self._published_runs :]
        self._published_runs += len(keys)
        ledger = self.twin.ledger
        changed = dict.fromkeys(keys)
        changed.update(
            dict.fromkeys(change.workload for change in ledger[self._published_ledger :])
        )
        self._published_ledger = len(ledger)
        for key in changed:
            run = self.twin.runs[key]
            # A new key, or one with a new ledger entry (a condition changed): always news.
            self.store.put(
                "workloads", workload_manifest(run, epoch=self.epoch), known_changed=True
            )
            cluster_queue, local_queue = self.queue_status.update(run)
            self._dirty_queues.update(
                (("clusterqueues", cluster_queue), ("localqueues", local_queue))
            )


def replay_epoch(scenario: Scenario, speed: float, now: datetime) -> datetime:
    """When simulated time 0 is, so that no creationTimestamp is ever in the future.

    At ``speed`` s, a Workload submitted at simulated ``t`` is published at wall time
    ``start + t / s``; with time 0 at ``start``, its creationTimestamp ``start + t`` would be
    ahead of the wall clock (kubectl's AGE ``<invalid>``). Setting time 0 back by
    ``T * (1 - 1/s)``, T the last submission or the last planned finish (submission plus
    run time; or the scenario's end), keeps every creationTimestamp, and every finish that no
    wait delays, at or before the moment it is published: the replayed history lies in the
    recent past, never days ahead (which the worker would rightly refuse).

    Sped up, time 0 is then moved back to the start of its hour: the per-minute aggregates see
    the scenario's own figures (a job submitted at 5m covers whole minutes), and a scenario
    shorter than an hour stays within one day.
    """
    start = now.replace(microsecond=0)
    if speed <= 1:
        return start
    horizon_ms = max((w.submit_at_ms + (w.run_for_ms or 0) for w in scenario.workloads), default=0)
    horizon_ms = max(horizon_ms, scenario.until_ms or 0)
    lead_ms = int(horizon_ms * (1 - 1 / speed))
    epoch = start - timedelta(milliseconds=-(-lead_ms // 1000) * 1000)
    return epoch.replace(minute=0, second=0)
