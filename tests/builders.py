"""Builders for test inputs, so each test says only what differs from a sound default."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from taskgov.policy.load import Document, read_documents


def cluster_doc(name: str = "test-cluster", **instances: int) -> dict[str, Any]:
    """A Cluster document; keyword names use '_' for '.', e.g. ``ml_g5_8xlarge=4``."""
    instances = instances or {"ml_g5_8xlarge": 4}
    groups = [
        {
            "InstanceGroupName": f"group-{i}",
            "InstanceType": key.replace("_", "."),
            "InstanceCount": n,
        }
        for i, (key, n) in enumerate(instances.items())
    ]
    return {
        "apiVersion": "taskgov/v1",
        "kind": "Cluster",
        "metadata": {"name": name},
        "spec": {"instanceGroups": groups},
    }


def quota(
    team: str,
    resources: str = "[{InstanceType=ml.g5.8xlarge,Count=2}]",
    sharing: str = "{Strategy=LendAndBorrow,BorrowLimit=50}",
    preempt: str = "LowerPriority",
    weight: int | None = 0,
    name: str | None = None,
    state: str = "Enabled",
) -> dict[str, Any]:
    """A compute allocation written with the CLI shorthand the HyperPod docs use."""
    target = f"TeamName={team}" + (f",FairShareWeight={weight}" if weight is not None else "")
    return {
        "Name": name or f"{team}-quota",
        "ComputeQuotaConfig": (
            f"ComputeQuotaResources={resources},ResourceSharingConfig={sharing},"
            f"PreemptTeamTasks={preempt}"
        ),
        "ComputeQuotaTarget": target,
        "ActivationState": state,
    }


SEED_SCHEDULER_CONFIG = (
    "PriorityClasses=[{Name=inference,Weight=90},{Name=experimentation,Weight=80},"
    "{Name=fine-tuning,Weight=50},{Name=training,Weight=70}],FairShare=Enabled"
)


def policy_doc(
    quotas: list[dict[str, Any]] | None = None,
    scheduler_config: Any = SEED_SCHEDULER_CONFIG,
    name: str = "test-policy",
) -> dict[str, Any]:
    """A Policy document with team-a and team-b by default."""
    return {
        "apiVersion": "taskgov/v1",
        "kind": "Policy",
        "metadata": {"name": name},
        "spec": {
            "schedulerConfig": scheduler_config,
            "computeQuotas": quotas if quotas is not None else [quota("team-a"), quota("team-b")],
        },
    }


def p4d_policy_documents(counts: dict[str, int]) -> list[dict[str, Any]]:
    """A Cluster of 3 ml.p4d.24xlarge and a FairShare Policy giving each team ``counts[team]``
    instances with BorrowLimit 0 and weight 0 (the optimizer's and the apply loop's start)."""
    quota = (
        "ComputeQuotaResources=[{{InstanceType=ml.p4d.24xlarge,Count={count}}}],"
        "ResourceSharingConfig={{Strategy=LendAndBorrow,BorrowLimit=0}},"
        "PreemptTeamTasks=LowerPriority"
    )
    return [
        {
            "apiVersion": "taskgov/v1",
            "kind": "Cluster",
            "metadata": {"name": "test-cluster"},
            "spec": {"instanceGroups": [{"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 3}]},
        },
        {
            "apiVersion": "taskgov/v1",
            "kind": "Policy",
            "metadata": {"name": "test-policy"},
            "spec": {
                "schedulerConfig": "FairShare=Enabled",
                "computeQuotas": [
                    {
                        "Name": f"{team}-quota",
                        "ComputeQuotaConfig": quota.format(count=count),
                        "ComputeQuotaTarget": f"TeamName={team},FairShareWeight=0",
                    }
                    for team, count in counts.items()
                ],
            },
        },
    ]


def documents(*bodies: dict[str, Any], source: str = "test.yaml") -> list[Document]:
    """The bodies as they come out of a YAML file, numbered in order."""
    text = yaml.safe_dump_all([copy.deepcopy(body) for body in bodies], sort_keys=False)
    return read_documents(text, source)
