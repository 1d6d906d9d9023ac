"""Compiling policies into Kueue objects: the seed's policy whole, and each mapping rule."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from taskgov.cli.demo import seed_policy_text
from taskgov.policy.compile import CompileOptions, compile_policy
from taskgov.policy.load import policy_and_cluster, read_documents
from tests.builders import cluster_doc, documents, policy_doc, quota

SHARED_EXPECTED = """
- apiVersion: kueue.x-k8s.io/v1beta1
  kind: WorkloadPriorityClass
  metadata: {name: inference-priority}
  value: 90
  description: HyperPod priority class inference (weight 90)
- apiVersion: kueue.x-k8s.io/v1beta1
  kind: WorkloadPriorityClass
  metadata: {name: experimentation-priority}
  value: 80
  description: HyperPod priority class experimentation (weight 80)
- apiVersion: kueue.x-k8s.io/v1beta1
  kind: WorkloadPriorityClass
  metadata: {name: fine-tuning-priority}
  value: 50
  description: HyperPod priority class fine-tuning (weight 50)
- apiVersion: kueue.x-k8s.io/v1beta1
  kind: WorkloadPriorityClass
  metadata: {name: training-priority}
  value: 70
  description: HyperPod priority class training (weight 70)
- apiVersion: kueue.x-k8s.io/v1beta1
  kind: ResourceFlavor
  metadata: {name: ml.g5.8xlarge}
  spec:
    nodeLabels: {node.kubernetes.io/instance-type: ml.g5.8xlarge}
"""
# team-a and team-b hold the same quota in the seed: their objects differ only in name.
TEAM_EXPECTED = """
- apiVersion: v1
  kind: Namespace
  metadata:
    name: hyperpod-ns-{team}
    labels:
      sagemaker.amazonaws.com/sagemaker-managed-queue: "true"
      sagemaker.amazonaws.com/quota-allocation-id: {team}
- apiVersion: kueue.x-k8s.io/v1beta1
  kind: ClusterQueue
  metadata:
    name: hyperpod-ns-{team}-clusterqueue
    labels:
      sagemaker.amazonaws.com/sagemaker-managed-queue: "true"
      sagemaker.amazonaws.com/quota-allocation-id: {team}
  spec:
    cohort: shared-pool
    namespaceSelector:
      matchLabels: {kubernetes.io/metadata.name: hyperpod-ns-{team}}
    queueingStrategy: BestEffortFIFO
    preemption: {withinClusterQueue: LowerPriority, reclaimWithinCohort: Any}
    resourceGroups:
    - coveredResources: [cpu, memory, nvidia.com/gpu]
      flavors:
      - name: ml.g5.8xlarge
        resources:
        - {name: cpu, nominalQuota: "64", borrowingLimit: "32"}
        - {name: memory, nominalQuota: 256Gi, borrowingLimit: 128Gi}
        - {name: nvidia.com/gpu, nominalQuota: "2", borrowingLimit: "1"}
    fairSharing: {weight: "1"}
- apiVersion: kueue.x-k8s.io/v1beta1
  kind: LocalQueue
  metadata: {name: hyperpod-ns-{team}-localqueue, namespace: hyperpod-ns-{team}}
  spec: {clusterQueue: hyperpod-ns-{team}-clusterqueue}
"""
SEED_EXPECTED = SHARED_EXPECTED + "".join(
    TEAM_EXPECTED.replace("{team}", team) for team in ("team-a", "team-b")
)


def compile_docs(*bodies: dict[str, Any], options: CompileOptions | None = None) -> list[dict]:
    policy, label, cluster = policy_and_cluster(documents(*bodies))
    return compile_policy(policy, cluster, label, options)


def by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [obj for obj in objects if obj["kind"] == kind]


def test_compile_seed_policy_gives_exactly_the_hyperpod_objects() -> None:
    policy, label, cluster = policy_and_cluster(read_documents(seed_policy_text(), "seed.yaml"))
    assert compile_policy(policy, cluster, label) == yaml.safe_load(SEED_EXPECTED)


def test_compile_does_not_change_the_policy() -> None:
    policy, label, cluster = policy_and_cluster(read_documents(seed_policy_text(), "seed.yaml"))
    before = policy.model_dump()
    compile_policy(policy, cluster, label)
    assert policy.model_dump() == before


GPU = "nvidia.com/gpu"


def flavor_quota(objects: list[dict], team: str) -> dict[str, dict[str, dict[str, str]]]:
    """flavor -> resource -> the quota fields of the team's ClusterQueue."""
    (queue,) = [
        cq
        for cq in by_kind(objects, "ClusterQueue")
        if cq["metadata"]["name"] == f"hyperpod-ns-{team}-clusterqueue"
    ]
    return {
        flavor["name"]: {
            r["name"]: {k: v for k, v in r.items() if k != "name"} for r in flavor["resources"]
        }
        for flavor in queue["spec"]["resourceGroups"][0]["flavors"]
    }


QUOTA_CASES = [
    pytest.param(
        quota("team-a", sharing="{Strategy=Lend}"),
        {"ml.g5.8xlarge": {GPU: {"nominalQuota": "2", "borrowingLimit": "0"}}},
        id="a team that only lends may borrow nothing",
    ),
    pytest.param(
        quota("team-a", sharing="{Strategy=DontLend}"),
        {"ml.g5.8xlarge": {GPU: {"nominalQuota": "2", "borrowingLimit": "0", "lendingLimit": "0"}}},
        id="a team that does not lend keeps its quota and borrows nothing",
    ),
    pytest.param(
        quota("team-a", sharing="{Strategy=LendAndBorrow}"),
        {"ml.g5.8xlarge": {GPU: {"nominalQuota": "2", "borrowingLimit": "1"}}},
        id="the API's default borrow limit is 50 percent",
    ),
    pytest.param(
        quota(
            "team-a",
            resources="[{InstanceType=ml.g5.8xlarge,Count=3}]",
            sharing="{Strategy=LendAndBorrow,BorrowLimit=50}",
        ),
        {"ml.g5.8xlarge": {GPU: {"nominalQuota": "3", "borrowingLimit": "1"}}},
        id="half of three GPUs rounds down to one whole GPU",
    ),
    pytest.param(
        quota("team-a", sharing="{Strategy=LendAndBorrow,BorrowLimit=200}"),
        {"ml.g5.8xlarge": {GPU: {"nominalQuota": "2", "borrowingLimit": "4"}}},
        id="borrow limits above 100 percent borrow more than the team owns",
    ),
    pytest.param(
        quota(
            "team-a",
            sharing="{Strategy=LendAndBorrow,BorrowLimit=50,AbsoluteBorrowLimits=[{InstanceType=ml.g5.8xlarge,Accelerators=2}]}",
        ),
        {"ml.g5.8xlarge": {GPU: {"nominalQuota": "2", "borrowingLimit": "2"}}},
        id="an absolute borrow limit replaces the percentage",
    ),
    pytest.param(
        quota("team-a", resources="[{InstanceType=ml.g5.8xlarge,Accelerators=1}]"),
        {"ml.g5.8xlarge": {GPU: {"nominalQuota": "1", "borrowingLimit": "0"}}},
        id="half a GPU of borrowing rounds down to none",
    ),
]


@pytest.mark.parametrize(("team_quota", "want_gpu_quota"), QUOTA_CASES)
def test_compile_quota_rules(team_quota: dict, want_gpu_quota: dict) -> None:
    objects = compile_docs(cluster_doc(), policy_doc([team_quota]))
    got = flavor_quota(objects, "team-a")
    assert {f: {GPU: got[f][GPU]} for f in got} == want_gpu_quota


def test_compile_fine_grained_fills_cpu_and_memory_by_ratio() -> None:
    team = quota("team-a", resources="[{InstanceType=ml.g5.48xlarge,Accelerators=2}]")
    objects = compile_docs(cluster_doc(ml_g5_48xlarge=1), policy_doc([team]))
    assert flavor_quota(objects, "team-a") == {
        "ml.g5.48xlarge": {
            "cpu": {"nominalQuota": "48", "borrowingLimit": "24"},
            "memory": {"nominalQuota": "192Gi", "borrowingLimit": "96Gi"},
            GPU: {"nominalQuota": "2", "borrowingLimit": "1"},
        }
    }


def test_compile_vcpu_only_guarantees_no_accelerators() -> None:
    team = quota(
        "team-a", resources="[{InstanceType=ml.g5.8xlarge,VCpu=16}]", sharing="{Strategy=Lend}"
    )
    objects = compile_docs(cluster_doc(), policy_doc([team]))
    assert flavor_quota(objects, "team-a") == {
        "ml.g5.8xlarge": {
            "cpu": {"nominalQuota": "16", "borrowingLimit": "0"},
            "memory": {"nominalQuota": "64Gi", "borrowingLimit": "0"},
            GPU: {"nominalQuota": "0", "borrowingLimit": "0"},
        }
    }


def test_compile_mixed_accelerators_share_one_resource_group() -> None:
    team = quota(
        "team-a",
        resources="[{InstanceType=ml.g5.8xlarge,Count=1},{InstanceType=ml.trn1.32xlarge,Count=1}]",
        sharing="{Strategy=Lend}",
    )
    objects = compile_docs(cluster_doc(ml_trn1_32xlarge=1, ml_g5_8xlarge=1), policy_doc([team]))
    (queue,) = by_kind(objects, "ClusterQueue")
    group = queue["spec"]["resourceGroups"][0]
    assert group["coveredResources"] == ["cpu", "memory", "aws.amazon.com/neurondevice", GPU]
    # Flavors follow the cluster's order; each lists every covered resource.
    assert flavor_quota(objects, "team-a") == {
        "ml.trn1.32xlarge": {
            "cpu": {"nominalQuota": "128", "borrowingLimit": "0"},
            "memory": {"nominalQuota": "512Gi", "borrowingLimit": "0"},
            "aws.amazon.com/neurondevice": {"nominalQuota": "16", "borrowingLimit": "0"},
            GPU: {"nominalQuota": "0", "borrowingLimit": "0"},
        },
        "ml.g5.8xlarge": {
            "cpu": {"nominalQuota": "32", "borrowingLimit": "0"},
            "memory": {"nominalQuota": "128Gi", "borrowingLimit": "0"},
            "aws.amazon.com/neurondevice": {"nominalQuota": "0", "borrowingLimit": "0"},
            GPU: {"nominalQuota": "1", "borrowingLimit": "0"},
        },
    }


SCHEDULER_CASES = [
    pytest.param(
        "FairShare=Disabled",
        {"queueingStrategy": "StrictFIFO", "fairSharing": None},
        id="no priority classes is first come first served without fair sharing",
    ),
    pytest.param(
        "PriorityClasses=[{Name=training,Weight=70}]",
        {"queueingStrategy": "BestEffortFIFO", "fairSharing": {"weight": "1"}},
        id="priority classes rank tasks and fair sharing is on by default",
    ),
]


@pytest.mark.parametrize(("scheduler_config", "want_spec"), SCHEDULER_CASES)
def test_compile_scheduler_config(scheduler_config: str, want_spec: dict) -> None:
    objects = compile_docs(
        cluster_doc(), policy_doc([quota("team-a")], scheduler_config=scheduler_config)
    )
    (queue,) = by_kind(objects, "ClusterQueue")
    got = {key: queue["spec"].get(key) for key in want_spec}
    assert got == want_spec


@pytest.mark.parametrize(
    ("weight", "want_kueue_weight"),
    [
        pytest.param(None, "1", id="no weight is the API default 0, Kueue's default 1"),
        pytest.param(0, "1", id="weight 0 is an equal share, not Kueue's infinite share"),
        pytest.param(100, "101", id="weight 100 is 101 times weight 0"),
    ],
)
def test_compile_fair_share_weight(weight: int | None, want_kueue_weight: str) -> None:
    objects = compile_docs(cluster_doc(), policy_doc([quota("team-a", weight=weight)]))
    (queue,) = by_kind(objects, "ClusterQueue")
    assert queue["spec"]["fairSharing"] == {"weight": want_kueue_weight}


def test_compile_disabled_allocation_compiles_to_nothing() -> None:
    objects = compile_docs(
        cluster_doc(), policy_doc([quota("team-a"), quota("team-b", state="Disabled")])
    )
    names = [obj["metadata"]["name"] for obj in objects if obj["kind"] != "WorkloadPriorityClass"]
    assert names == [
        "ml.g5.8xlarge",
        "hyperpod-ns-team-a",
        "hyperpod-ns-team-a-clusterqueue",
        "hyperpod-ns-team-a-localqueue",
    ]


def test_compile_v1beta2_names_the_cohort_cohort_name() -> None:
    objects = compile_docs(
        cluster_doc(), policy_doc([quota("team-a")]), options=CompileOptions("pool-x", "v1beta2")
    )
    (queue,) = by_kind(objects, "ClusterQueue")
    assert queue["apiVersion"] == "kueue.x-k8s.io/v1beta2"
    assert queue["spec"]["cohortName"] == "pool-x"
    assert "cohort" not in queue["spec"]


def test_compile_idle_resource_sharing_lends_unallocated_capacity() -> None:
    objects = compile_docs(
        cluster_doc(ml_g5_8xlarge=5),
        policy_doc(scheduler_config="FairShare=Enabled,IdleResourceSharing=Enabled"),
    )
    unallocated = by_kind(objects, "ClusterQueue")[-1]
    assert unallocated["metadata"]["name"] == "hyperpod-unallocated-clusterqueue"
    assert unallocated["spec"]["resourceGroups"] == [
        {
            "coveredResources": ["cpu", "memory", GPU],
            "flavors": [
                {
                    "name": "ml.g5.8xlarge",
                    "resources": [
                        {"name": "cpu", "nominalQuota": "32"},
                        {"name": "memory", "nominalQuota": "128Gi"},
                        {"name": GPU, "nominalQuota": "1"},
                    ],
                }
            ],
        }
    ]
