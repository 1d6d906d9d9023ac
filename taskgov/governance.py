"""The twin with a governance API: a SageMaker endpoint seeded from a scenario's Policy, whose
every change is compiled to ClusterQueues the running twin takes at that instant.

This is the one place the twin and the policy layer meet: the twin serves API shapes and takes
ClusterQueues, the policy layer turns one into the other, and neither imports the other.
"""

from __future__ import annotations

from typing import Any

from taskgov.errors import InputError
from taskgov.policy.compile import CompileOptions, compile_policy
from taskgov.policy.load import Document, policy_and_cluster
from taskgov.policy.model import Cluster, ComputeQuota, Policy, SchedulerConfig
from taskgov.twin.sagemaker_api import GovernanceState, SageMakerApi
from taskgov.twin.serve import RunningTwinServer


def governance_for(
    documents: list[Document], allowed_access_keys: frozenset[str] = frozenset()
) -> tuple[SageMakerApi, Policy, Cluster] | None:
    """A SageMaker endpoint holding the scenario's Policy, or ``None`` when it has none."""
    if not any(doc.kind == "Policy" for doc in documents):
        return None
    policy, _, cluster = policy_and_cluster(documents)
    state = GovernanceState(cluster.name)
    quotas = [
        q.model_dump(mode="json", by_alias=True, exclude_none=True) for q in policy.compute_quotas
    ]
    scheduler = policy.scheduler_config.model_dump(mode="json", by_alias=True, exclude_none=True)
    state.seed(quotas, scheduler)
    return SageMakerApi(state, allowed_access_keys), policy, cluster


def connect(server: RunningTwinServer, api: SageMakerApi, policy: Policy, cluster: Cluster) -> None:
    """Send every change of ``api``'s state to ``server`` as compiled ClusterQueues."""

    def on_change(state: GovernanceState) -> None:
        for manifest in cluster_queues(state, policy, cluster):
            server.put_cluster_queue(manifest)

    api.state.on_change = on_change


def cluster_queues(state: GovernanceState, base: Policy, cluster: Cluster) -> list[dict[str, Any]]:
    """The ClusterQueues the live allocations and scheduler config compile to.

    Raises:
        InputError: the live allocations do not fit the cluster (the API accepted them, as
            AWS would; the twin keeps its queues as they were).
    """
    scheduler = state.scheduler_config()
    policy = Policy(
        name=base.name,
        scheduler_config=SchedulerConfig.model_validate(scheduler)
        if scheduler is not None
        else base.scheduler_config,
        compute_quotas=[ComputeQuota.model_validate(body) for body in state.live_quotas()],
    )
    try:
        objects = compile_policy(policy, cluster, "governance", CompileOptions())
    except InputError:
        return []
    return [o for o in objects if o["kind"] == "ClusterQueue"]
