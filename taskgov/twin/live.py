"""Play a scenario in (scaled) real time into an :class:`ObjectStore` the API server serves."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from taskgov.twin.engine import Twin
from taskgov.twin.manifests import scenario_manifests
from taskgov.twin.render import timestamp, workload_manifest
from taskgov.twin.scenario import Scenario, stable_uid
from taskgov.twin.store import ObjectStore

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
        self.epoch = datetime.now(UTC).replace(microsecond=0)
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
            obj = dict(manifest)
            metadata = dict(obj.get("metadata") or {})
            metadata.setdefault(
                "uid",
                stable_uid(kind, str(metadata.get("namespace", "")), str(metadata.get("name"))),
            )
            metadata.setdefault("creationTimestamp", timestamp(0, self.epoch))
            obj["metadata"] = metadata
            self.store.put(_RESOURCE_OF_KIND[kind], obj)

    def _loop(self) -> None:
        started = self._started_at = time.monotonic()
        while not self._stop.is_set():
            next_ms = self.twin.next_event_ms()
            if next_ms is None:
                break
            wake = started + next_ms / 1000 / self.speed
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
        self.done.set()

    def change(self, apply: Callable[[Twin], None]) -> None:
        """Run ``apply`` on the engine at the current simulated instant, then publish.

        The twin first plays on to now, so the change lands between the events before and
        after it, as a change to a real cluster does; what it causes at that instant (a
        scheduling cycle, preemptions) is played and published before this returns.
        """
        with self._engine_lock:
            started = self._started_at
            now_ms = self.twin.now_ms
            if started is not None:
                now_ms = max(now_ms, int((time.monotonic() - started) * 1000 * self.speed))
            self.twin.run(now_ms)
            apply(self.twin)
            self.twin.run(now_ms)
            self._publish()
        self._wakeup.set()

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
            self.store.put("workloads", workload_manifest(self.twin.runs[key], epoch=self.epoch))
