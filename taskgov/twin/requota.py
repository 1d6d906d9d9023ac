"""A ClusterQueue's quota changed while the twin runs: take it as Kueue does, at that instant.

Kueue's cache replaces the queue's quotas and recomputes the cohort tree's subtree quotas; the
queue manager moves every inadmissible workload of the tree back to the active heaps (the
ClusterQueue update event), and the next scheduling cycle sees the new limits. Admitted
workloads keep running: nothing is evicted because a quota shrank, but other queues may now
reclaim by preemption what the changed queue borrows beyond its new limits.
"""

from __future__ import annotations

from typing import Any

from taskgov.kueue.read import FieldReader, subject_of
from taskgov.kueue.read import read_cluster_queue as read_kueue_cluster_queue
from taskgov.kueue.schemas.checks import Context
from taskgov.kueue.schemas.compile import kueue_check
from taskgov.twin.engine import Twin
from taskgov.twin.events import EventKind
from taskgov.twin.objects import ClusterQueue
from taskgov.twin.quota import build_subtree_quotas
from taskgov.twin.versions import convert


def update_cluster_queue(twin: Twin, queue: ClusterQueue) -> None:
    """Give ``queue``'s new quotas, limits and weight to the running ``twin`` at ``now_ms``.

    Raises:
        ValueError: the queue is unknown or moves to another cohort (the twin builds its tree
            once; a cohort change needs a new scenario).
    """
    old = twin.scenario.cluster_queues.get(queue.name)
    if old is None:
        raise ValueError(f"no ClusterQueue {queue.name!r} in the running twin")
    if queue.cohort != old.cohort:
        raise ValueError(
            f"spec.cohort: the twin cannot move {queue.name} from {old.cohort!r} to "
            f"{queue.cohort!r} while it runs"
        )
    twin.scenario.cluster_queues[queue.name] = queue
    node = twin.nodes[queue.name]
    node.quotas = {
        (flavor.name, resource): quota
        for group in queue.resource_groups
        for flavor in group.flavors
        for resource, quota in flavor.resources.items()
    }
    node.fair_sharing_weight = queue.fair_sharing_weight
    build_subtree_quotas(node.root())
    root = node.root().name
    twin.queues.flush(twin.queues_of_root[root], twin.cycle)
    twin._new_epoch()  # noqa: SLF001 - a change from outside: a held thrash may now resolve
    twin._events.push(twin.now_ms, EventKind.FLUSH, root)  # noqa: SLF001 - a cycle now


def read_cluster_queue(manifest: dict[str, Any]) -> ClusterQueue:
    """A patched ClusterQueue manifest read as the twin reads a scenario's (``taskgov.kueue``).

    Raises:
        ValueError: a field the twin cannot read, named.
    """
    name = str((manifest.get("metadata") or {}).get("name", ""))
    shape = Context("patch", subject_of("ClusterQueue", manifest))
    # What Kueue's schema and webhooks refuse, the twin refuses too. The store keeps objects in
    # the version they were written in and patches write v1beta1's ``cohort``: check the
    # object as v1beta1 shows it.
    stored = convert(manifest, "v1beta1")
    check = kueue_check(stored.get("apiVersion"), "ClusterQueue")
    if check is not None:
        check(shape, stored, "")
    if not shape.faults:  # the reader trusts the shape
        reader = FieldReader("patch", shape.subject, shape.faults)
        queue = read_kueue_cluster_queue(reader, manifest, name)
    if shape.faults:
        raise ValueError("; ".join(f"{f.field}: {f.message}" for f in shape.faults))
    return queue
