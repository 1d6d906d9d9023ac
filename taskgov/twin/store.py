"""Objects with resourceVersions and a watch history, as the Kubernetes API server keeps them.

One counter orders every change; each resource keeps a bounded window of recent events,
and a watch that asks to start before that window gets ``410 Gone``, as etcd compaction
makes a real API server answer.
"""

from __future__ import annotations

import builtins
import json
import threading
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RESOURCES = (
    "workloads",
    "clusterqueues",
    "localqueues",
    "resourceflavors",
    "workloadpriorityclasses",
    "cohorts",
)
NAMESPACED = {"workloads", "localqueues"}


class Gone(Exception):
    """The requested resourceVersion is older than the retained history."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


@dataclass(frozen=True, slots=True)
class WatchEvent:
    resource_version: int
    type: str
    object: dict[str, Any]


def object_key(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata.get('name')}" if namespace else str(metadata.get("name"))


class ObjectStore:
    """Thread-safe current objects per resource, plus each resource's recent events."""

    def __init__(self, history: int = 100_000) -> None:
        self._lock = threading.Condition()
        self._version = 0
        self._objects: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in RESOURCES}
        self._history = history
        self._events: dict[str, list[WatchEvent]] = {r: [] for r in RESOURCES}
        self._versions: dict[str, list[int]] = {r: [] for r in RESOURCES}
        self._compacted: dict[str, int] = dict.fromkeys(RESOURCES, 0)
        self.closed = False
        # Held across a read-check-write (a patch with a resourceVersion precondition).
        self.write_lock = threading.RLock()

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    def put(self, resource: str, obj: dict[str, Any], *, known_changed: bool = False) -> bool:
        """Create or update ``obj``; returns False when nothing changed.

        Args:
            resource: the plural, e.g. ``workloads``.
            obj: the object; the store takes ownership of it.
            known_changed: the caller knows ``obj`` differs from the stored one, so the
                comparison (a JSON rendering of both) is skipped.
        """
        key = object_key(obj)
        with self._lock:
            current = self._objects[resource].get(key)
            if (
                not known_changed
                and current is not None
                and _without_version(current) == _without_version(obj)
            ):
                return False
            self._version += 1
            # The store takes ownership of ``obj``; stored objects are never mutated again,
            # so readers can share them without copies.
            stored = dict(obj)
            stored["metadata"] = {
                **(obj.get("metadata") or {}),
                "resourceVersion": str(self._version),
            }
            self._objects[resource][key] = stored
            self._record(
                resource, WatchEvent(self._version, "MODIFIED" if current else "ADDED", stored)
            )
            return True

    def delete(self, resource: str, key: str) -> None:
        with self._lock:
            current = self._objects[resource].pop(key, None)
            if current is None:
                return
            self._version += 1
            gone = dict(current)
            gone["metadata"] = {**current["metadata"], "resourceVersion": str(self._version)}
            self._record(resource, WatchEvent(self._version, "DELETED", gone))

    def _record(self, resource: str, event: WatchEvent) -> None:
        events, versions = self._events[resource], self._versions[resource]
        events.append(event)
        versions.append(event.resource_version)
        if len(events) > 2 * self._history:
            # Compact in halves so appends stay cheap; older versions are then Gone.
            drop = len(events) - self._history
            self._compacted[resource] = versions[drop - 1]
            del events[:drop], versions[:drop]
        self._lock.notify_all()

    def compact(self) -> None:
        """Forget all history, so every older resourceVersion is Gone (for tests)."""
        with self._lock:
            for resource in RESOURCES:
                self._events[resource].clear()
                self._versions[resource].clear()
                self._compacted[resource] = self._version

    def list(
        self, resource: str, accept: Callable[[dict[str, Any]], bool]
    ) -> tuple[list[dict[str, Any]], int]:
        with self._lock:
            items = [o for _, o in sorted(self._objects[resource].items()) if accept(o)]
            return items, self._version

    def get(self, resource: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._objects[resource].get(key)

    def events_after(
        self, resource: str, version: int, timeout_s: float
    ) -> tuple[builtins.list[WatchEvent], int]:
        """Events newer than ``version``, waiting up to ``timeout_s`` for one.

        Raises:
            Gone: ``version`` is older than the retained history.
        """
        with self._lock:
            if version < self._compacted[resource]:
                raise Gone(version, self._compacted[resource])
            newer = self._newer(resource, version)
            if not newer and not self.closed:
                self._lock.wait(timeout_s)
                if version < self._compacted[resource]:
                    raise Gone(version, self._compacted[resource])
                newer = self._newer(resource, version)
            return newer, self._version

    def _newer(self, resource: str, version: int) -> builtins.list[WatchEvent]:
        start = bisect_right(self._versions[resource], version)
        return self._events[resource][start:]

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._lock.notify_all()


def _without_version(obj: dict[str, Any]) -> str:
    trimmed = dict(obj)
    trimmed["metadata"] = {
        k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"
    }
    return json.dumps(trimmed, sort_keys=True)
