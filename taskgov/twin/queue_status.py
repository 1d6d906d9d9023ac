"""``status`` of ClusterQueues and LocalQueues, as Kueue's queue controllers write it.

Counts (pending, reserving, admitted Workloads) and usage per flavor and resource (with what is
borrowed above the nominal quota, for ClusterQueues) are kept incrementally: each changed
Workload moves its contribution from its old state to its new one, so a live twin with many
Workloads pays per change, not per queue per instant. Field names are v1beta2's
(``flavorsUsage``); ``taskgov.twin.versions`` renames them for v1beta1 clients.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from taskgov.kueue.quantity import format_amount
from taskgov.twin.objects import ClusterQueue, FlavorResource
from taskgov.twin.state import WorkloadRun

PENDING, RESERVING, FINISHED = "pending", "reserving", "finished"
_CQ_READY = "Can admit new workloads"
_LQ_READY = "Can submit new workloads to localQueue"


@dataclass(slots=True)
class _Tally:
    counts: Counter[str] = field(default_factory=Counter)
    usage: Counter[FlavorResource] = field(default_factory=Counter)


def _state(run: WorkloadRun) -> str:
    if run.finished_ms is not None:
        return FINISHED
    return RESERVING if run.running is not None else PENDING


class QueueStatus:
    """What each ClusterQueue and LocalQueue holds, updated one Workload at a time."""

    def __init__(self, cluster_queues: dict[str, ClusterQueue], since: str) -> None:
        self._queues = cluster_queues
        self._since = since  # lastTransitionTime of the Active conditions
        self._cluster: dict[str, _Tally] = {name: _Tally() for name in cluster_queues}
        self._local: dict[str, _Tally] = {}
        self._seen: dict[str, tuple[str, str, str, tuple[tuple[FlavorResource, int], ...]]] = {}

    def update(self, run: WorkloadRun) -> tuple[str, str]:
        """Account ``run``'s current state; returns its (ClusterQueue, LocalQueue key)."""
        local = f"{run.spec.namespace}/{run.spec.queue_name}"
        usage = tuple(run.running.usage.items()) if run.running is not None else ()
        now = (run.cluster_queue, local, _state(run), usage)
        before = self._seen.get(run.spec.key)
        if before != now:
            if before is not None:
                self._apply(before, -1)
            self._apply(now, 1)
            self._seen[run.spec.key] = now
        return run.cluster_queue, local

    def _apply(
        self, entry: tuple[str, str, str, tuple[tuple[FlavorResource, int], ...]], sign: int
    ) -> None:
        cluster_queue, local, state, usage = entry
        for tally in (
            self._cluster.setdefault(cluster_queue, _Tally()),
            self._local.setdefault(local, _Tally()),
        ):
            tally.counts[state] += sign
            for fr, amount in usage:
                tally.usage[fr] += sign * amount

    def _flavors(
        self, queue: ClusterQueue, usage: Counter[FlavorResource], borrowed: bool
    ) -> list[dict[str, Any]]:
        flavors = []
        for group in queue.resource_groups:
            for flavor in group.flavors:
                resources = []
                for resource in group.covered_resources:
                    total = usage.get((flavor.name, resource), 0)
                    line = {"name": resource, "total": format_amount(resource, total)}
                    if borrowed:
                        quota = flavor.resources.get(resource)
                        nominal = quota.nominal if quota is not None else 0
                        line["borrowed"] = format_amount(resource, max(0, total - nominal))
                    resources.append(line)
                flavors.append({"name": flavor.name, "resources": resources})
        return flavors

    def _active(self, stopped: bool, local: bool) -> list[dict[str, Any]]:
        """The ``Active`` condition: Kueue's reasons and messages for a (stopped) queue."""
        if not stopped:
            reason, message = "Ready", _LQ_READY if local else _CQ_READY
        elif local:
            reason, message = "ClusterQueueIsInactive", "Can't submit new workloads to clusterQueue"
        else:
            reason, message = "Stopped", "Can't admit new workloads: is stopped."
        return [
            {
                "type": "Active",
                "status": "False" if stopped else "True",
                "reason": reason,
                "message": message,
                "lastTransitionTime": self._since,
            }
        ]

    def _body(self, tally: _Tally, queue: ClusterQueue | None, local: bool) -> dict[str, Any]:
        stopped = queue is not None and queue.stopped
        usage = self._flavors(queue, tally.usage, not local) if queue is not None else []
        return {
            "conditions": self._active(stopped, local),
            "flavorsReservation": usage,
            "flavorsUsage": usage,
            "pendingWorkloads": tally.counts[PENDING],
            "reservingWorkloads": tally.counts[RESERVING],
            # The twin has no admission checks: a reservation is an admission.
            "admittedWorkloads": tally.counts[RESERVING],
        }

    def cluster_queue(self, name: str) -> dict[str, Any]:
        """The ClusterQueue's ``status``."""
        return self._body(self._cluster.get(name, _Tally()), self._queues.get(name), False)

    def local_queue(self, key: str, cluster_queue: str) -> dict[str, Any]:
        """The LocalQueue's (``namespace/name``) ``status``."""
        return self._body(self._local.get(key, _Tally()), self._queues.get(cluster_queue), True)
