"""Kueue objects of a scenario built in code (a trace), rendered as the API server serves them.

A scenario read from YAML keeps its own manifests; one built from a trace has only the twin's
objects, and the watcher and kubectl still need its ClusterQueues, LocalQueues and flavors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from taskgov.kueue.render import resource_groups_manifest
from taskgov.twin.objects import ClusterQueue, LocalQueue, ResourceFlavor
from taskgov.twin.render import EPOCH, timestamp
from taskgov.twin.scenario import Scenario, stable_uid

API_VERSION = "kueue.x-k8s.io/v1beta1"


def _metadata(kind: str, name: str, epoch: datetime, namespace: str = "") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["uid"] = stable_uid(kind, namespace, name)  # as LiveTwin gives YAML manifests
    metadata["creationTimestamp"] = timestamp(0, epoch)
    return metadata


def cluster_queue_manifest(queue: ClusterQueue, epoch: datetime = EPOCH) -> dict[str, Any]:
    """A ClusterQueue of the twin with its quotas, limits, cohort and policies."""
    spec: dict[str, Any] = {
        "resourceGroups": resource_groups_manifest(queue.resource_groups),
        "queueingStrategy": queue.queueing_strategy,
        "preemption": {
            "withinClusterQueue": queue.preemption.within_cluster_queue,
            "reclaimWithinCohort": queue.preemption.reclaim_within_cohort,
            "borrowWithinCohort": {"policy": queue.preemption.borrow_within_cohort},
        },
        "fairSharing": {"weight": format(queue.fair_sharing_weight, "g")},
    }
    if queue.cohort:
        spec["cohort"] = queue.cohort
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterQueue",
        "metadata": {**_metadata("ClusterQueue", queue.name, epoch), "resourceVersion": "1"},
        "spec": spec,
    }


def local_queue_manifest(queue: LocalQueue, epoch: datetime = EPOCH) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "LocalQueue",
        "metadata": _metadata("LocalQueue", queue.name, epoch, queue.namespace),
        "spec": {"clusterQueue": queue.cluster_queue},
    }


def resource_flavor_manifest(flavor: ResourceFlavor, epoch: datetime = EPOCH) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "ResourceFlavor",
        "metadata": _metadata("ResourceFlavor", flavor.name, epoch),
        "spec": {"nodeLabels": dict(flavor.node_labels)} if flavor.node_labels else {},
    }


def scenario_manifests(scenario: Scenario, epoch: datetime = EPOCH) -> list[dict[str, Any]]:
    """The flavors, ClusterQueues and LocalQueues of ``scenario`` as Kueue objects."""
    return [
        *(resource_flavor_manifest(f, epoch) for f in scenario.flavors.values()),
        *(cluster_queue_manifest(q, epoch) for q in scenario.cluster_queues.values()),
        *(local_queue_manifest(q, epoch) for q in scenario.local_queues.values()),
    ]
