"""Render compiled Kueue objects as the manifests HyperPod task governance applies.

The objects come from :func:`taskgov.policy.compile.compile_objects`; this step only writes
them in a Kueue API version, with HyperPod's labels: each team's namespace is labelled as
SageMaker-managed with its allocation, its ClusterQueue selects that namespace, and the
unallocated capacity's ClusterQueue selects none (it only lends).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from taskgov.kueue.hyperpod import (
    UNALLOCATED_QUEUE,
    cluster_queue_name,
    local_queue_name,
    namespace_name,
)
from taskgov.kueue.objects import ClusterQueue, KueueObjects
from taskgov.kueue.render import resource_groups_manifest

KueueApiVersion = Literal["v1beta1", "v1beta2"]
KUEUE_GROUP = "kueue.x-k8s.io"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
MANAGED_QUEUE_LABEL = "sagemaker.amazonaws.com/sagemaker-managed-queue"
ALLOCATION_LABEL = "sagemaker.amazonaws.com/quota-allocation-id"

Manifest = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CompileOptions:
    """Choices about the output that the policy itself does not make."""

    cohort_name: str = "shared-pool"
    api_version: KueueApiVersion = "v1beta1"


def render_manifests(
    objects: KueueObjects, teams: tuple[str, ...], options: CompileOptions
) -> list[Manifest]:
    """WorkloadPriorityClasses, ResourceFlavors, then per team a Namespace, ClusterQueue and
    LocalQueue, then the unallocated capacity's ClusterQueue (if any)."""
    api = f"{KUEUE_GROUP}/{options.api_version}"
    manifests: list[Manifest] = [
        {
            "apiVersion": api,
            "kind": "WorkloadPriorityClass",
            "metadata": {"name": pc.name},
            "value": pc.value,
            "description": pc.description,
        }
        for pc in objects.priority_classes.values()
    ]
    manifests += [
        {
            "apiVersion": api,
            "kind": "ResourceFlavor",
            "metadata": {"name": flavor.name},
            "spec": {"nodeLabels": dict(flavor.node_labels)},
        }
        for flavor in objects.flavors.values()
    ]
    for team in teams:
        manifests += _team_manifests(objects, team, api, options)
    unallocated = objects.cluster_queues.get(UNALLOCATED_QUEUE)
    if unallocated is not None:
        spec = {
            _cohort_field(options): unallocated.cohort,
            # Matches no namespace: this queue only lends.
            "namespaceSelector": {"matchLabels": {MANAGED_QUEUE_LABEL: "unallocated"}},
            "resourceGroups": resource_groups_manifest(unallocated.resource_groups),
        }
        manifests.append(_object(api, "ClusterQueue", {"name": UNALLOCATED_QUEUE}, spec))
    return manifests


def _team_manifests(
    objects: KueueObjects, team: str, api: str, options: CompileOptions
) -> list[Manifest]:
    queue = objects.cluster_queues[cluster_queue_name(team)]
    labels = {MANAGED_QUEUE_LABEL: "true", ALLOCATION_LABEL: team}
    namespace = {"name": namespace_name(team), "labels": labels}
    local_queue = {"name": local_queue_name(team), "namespace": namespace_name(team)}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": namespace},
        _object(
            api,
            "ClusterQueue",
            {"name": queue.name, "labels": labels},
            _team_spec(objects, queue, team, options),
        ),
        _object(api, "LocalQueue", local_queue, {"clusterQueue": queue.name}),
    ]


def _team_spec(
    objects: KueueObjects, queue: ClusterQueue, team: str, options: CompileOptions
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        _cohort_field(options): queue.cohort,
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace_name(team)}},
        "queueingStrategy": queue.queueing_strategy,
        "preemption": {
            "withinClusterQueue": queue.preemption.within_cluster_queue,
            "reclaimWithinCohort": queue.preemption.reclaim_within_cohort,
        },
        "resourceGroups": resource_groups_manifest(queue.resource_groups),
    }
    if objects.fair_sharing:
        spec["fairSharing"] = {"weight": format(queue.fair_sharing_weight, "g")}
    return spec


def _object(api: str, kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> Manifest:
    return {"apiVersion": api, "kind": kind, "metadata": metadata, "spec": spec}


def _cohort_field(options: CompileOptions) -> str:
    return "cohort" if options.api_version == "v1beta1" else "cohortName"
