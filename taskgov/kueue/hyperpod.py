"""HyperPod task governance's names for what it creates per team, in one place.

Team ``t`` gets namespace ``hyperpod-ns-t``, LocalQueue ``hyperpod-ns-t-localqueue`` and
ClusterQueue ``hyperpod-ns-t-clusterqueue``; a priority class ``c`` becomes the
WorkloadPriorityClass ``c-priority``. Objects outside these names belong to no HyperPod team:
their namespace (or ClusterQueue name) stands for the team.
"""

from __future__ import annotations

NAMESPACE_PREFIX = "hyperpod-ns-"
CLUSTER_QUEUE_SUFFIX = "-clusterqueue"
LOCAL_QUEUE_SUFFIX = "-localqueue"
PRIORITY_CLASS_SUFFIX = "-priority"
UNALLOCATED_QUEUE = "hyperpod-unallocated-clusterqueue"


def namespace_name(team: str) -> str:
    """The namespace of ``team``'s workloads."""
    return f"{NAMESPACE_PREFIX}{team}"


def cluster_queue_name(team: str) -> str:
    """The ClusterQueue holding ``team``'s quota."""
    return f"{NAMESPACE_PREFIX}{team}{CLUSTER_QUEUE_SUFFIX}"


def local_queue_name(team: str) -> str:
    """The LocalQueue ``team`` submits to (in its namespace)."""
    return f"{NAMESPACE_PREFIX}{team}{LOCAL_QUEUE_SUFFIX}"


def priority_class_name(name: str) -> str:
    """The WorkloadPriorityClass of the policy's priority class ``name``."""
    return f"{name}{PRIORITY_CLASS_SUFFIX}"


def team_of_namespace(namespace: str) -> str:
    """Team ``t`` lives in namespace ``hyperpod-ns-t``; elsewhere the namespace is the team."""
    return namespace.removeprefix(NAMESPACE_PREFIX)


def team_of_cluster_queue(name: str) -> str:
    """The team of ClusterQueue ``hyperpod-ns-t-clusterqueue``; elsewhere its own name."""
    if not name.startswith(NAMESPACE_PREFIX):
        return name
    return name.removeprefix(NAMESPACE_PREFIX).removesuffix(CLUSTER_QUEUE_SUFFIX)
