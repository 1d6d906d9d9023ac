"""Policies at and past the bounds of the APIs they mirror, and values of the wrong type.

Every bound is botocore's ``sagemaker`` model (2017-07-24) or a Kubernetes name rule; types
are strict as botocore's parameter validation is, except that CLI shorthand text is typed.
"""

from __future__ import annotations

from typing import Any

import pytest

from taskgov.errors import InputError
from taskgov.policy.checks import policy_faults
from taskgov.policy.load import Document, policy_and_cluster, read_documents
from tests.builders import SEED_SCHEDULER_CONFIG, cluster_doc, documents, policy_doc, quota

POLICY = "test.yaml#1 (Policy test-policy)"
CLUSTER = "test.yaml#0 (Cluster test-cluster), Cluster test-cluster"
TEAM_A = f"{POLICY}, ComputeQuota team-a-quota"


def cluster_with(groups: list[dict[str, Any]]) -> dict[str, Any]:
    doc = cluster_doc()
    doc["spec"]["instanceGroups"] = groups
    return doc


def group(count: Any = 4, instance_type: str = "ml.g5.8xlarge", **more: Any) -> dict[str, Any]:
    return {"InstanceType": instance_type, "InstanceCount": count, **more}


def team_a(**changes: Any) -> list[dict[str, Any]]:
    """team-a's allocation with ``changes``, and team-b's as it is."""
    return [{**quota("team-a"), **changes}, quota("team-b")]


def classes(**priority_class: Any) -> dict[str, Any]:
    return {"PriorityClasses": [{"Name": "a", "Weight": 1, **priority_class}]}


def as_read(*bodies: dict[str, Any]) -> list[Document]:
    """The bodies as documents of ``test.yaml`` (the YAML round trip of 10 MB is slow)."""
    return [Document("test.yaml", n, body) for n, body in enumerate(bodies)]


def cut(text: str, limit: int = 200) -> str:
    """The repr a fault shows of a long value."""
    shown = repr(text)
    return f"{shown[:limit]}... ({len(shown)} characters)"


LIMIT_CASES = [
    pytest.param(
        [cluster_with([group(10**30)]), policy_doc()],
        [
            f"{CLUSTER}: field InstanceGroups[0].InstanceCount: Input should be less than or equal to 6758 (got 1000000000000000000000000000000)"
        ],
        id="an InstanceCount of 10**30 is past botocore's 6758",
    ),
    pytest.param(
        [cluster_with([group(6759)]), policy_doc()],
        [
            f"{CLUSTER}: field InstanceGroups[0].InstanceCount: Input should be less than or equal to 6758 (got 6759)"
        ],
        id="an InstanceCount of 6759 is one past the bound",
    ),
    pytest.param(
        [cluster_with([group(True)]), policy_doc()],
        [
            f"{CLUSTER}: field InstanceGroups[0].InstanceCount: Input should be a valid integer (got True)"
        ],
        id="an InstanceCount of true is not 1",
    ),
    pytest.param(
        [cluster_with([group(0)] * 101), policy_doc()],
        [
            f"{CLUSTER}: field InstanceGroups: List should have at most 100 items after validation, not 101"
        ],
        id="101 instance groups are past botocore's 100",
    ),
    pytest.param(
        [cluster_with([group(instance_type="m" * 1_000_000)]), policy_doc()],
        [
            f"{CLUSTER}: field InstanceGroups[0].InstanceType: unknown accelerated instance type of 1000000 characters (got {cut('m' * 1_000_000)})"
        ],
        id="a 1 MB instance type is named by its length",
    ),
    pytest.param(
        [cluster_with([group(InstanceGroupName="-workers")]), policy_doc()],
        [
            f"{CLUSTER}: field InstanceGroups[0].InstanceGroupName: instance group name '-workers' must be 1 to 63 letters, digits and '-', starting and ending with a letter or digit (got '-workers')"
        ],
        id="an instance group name starting with '-'",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(team_a(Description="d" * 10_000_000))],
        [f"{TEAM_A}: field Description: String should have at most 1024 characters"],
        id="a 10 MB Description is past botocore's 1024",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(team_a(Description="d" * 1025))],
        [f"{TEAM_A}: field Description: String should have at most 1024 characters"],
        id="a Description of 1025 characters",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(team_a(Description="ring\x07bell"))],
        [
            f"{TEAM_A}: field Description: description has the control or unassigned character '\\x07' at position 4 (got 'ring\\x07bell')"
        ],
        id="a Description with a control character",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc(scheduler_config=f"PriorityClasses=[{{Name={'a' * 309},Weight=1}}]"),
        ],
        [
            f"{POLICY}, SchedulerConfig: field PriorityClasses[0].Name: priority class name has 309 characters; at most 244 are allowed (got {cut('a' * 309)})"
        ],
        id="a 309-character priority class makes a WorkloadPriorityClass name past 253",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc(scheduler_config=f"PriorityClasses=[{{Name={'a' * 60}-,Weight=1}}]"),
        ],
        [
            f"{POLICY}, SchedulerConfig: field PriorityClasses[0].Name: priority class name '{'a' * 60}-' must be lowercase letters, digits and '-', starting and ending with a letter or digit (got '{'a' * 60}-')"
        ],
        id="a long class name ending in '-' is refused at once, without regex backtracking",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(scheduler_config=classes(Weight=True))],
        [
            f"{POLICY}, SchedulerConfig: field PriorityClasses[0].Weight: Input should be a valid integer (got True)"
        ],
        id="Weight true is not 1",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(scheduler_config=classes(Weight="90"))],
        [
            f"{POLICY}, SchedulerConfig: field PriorityClasses[0].Weight: Input should be a valid integer (got '90')"
        ],
        id="a YAML string is not an integer outside CLI shorthand",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(scheduler_config=classes(Weight=9.5))],
        [
            f"{POLICY}, SchedulerConfig: field PriorityClasses[0].Weight: Input should be a valid integer (got 9.5)"
        ],
        id="a fractional Weight",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc(
                [
                    quota(
                        "team-a", resources=f"[{{InstanceType=ml.g5.8xlarge,Count={'9' * 5000}}}]"
                    ),
                    quota("team-b"),
                ]
            ),
        ],
        [
            f"{TEAM_A}: field ComputeQuotaConfig.ComputeQuotaResources[0].Count: Input should be a valid integer (got {cut('9' * 5000)})"
        ],
        id="a 5,000-digit Count in shorthand",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc(
                [
                    quota("team-a", resources="[{InstanceType=ml.g5.8xlarge,VCpu=nan}]"),
                    quota("team-b"),
                ]
            ),
        ],
        [
            f"{TEAM_A}: field ComputeQuotaConfig.ComputeQuotaResources[0].VCpu: Input should be a valid number (got 'nan')"
        ],
        id="VCpu=nan in shorthand",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(team_a(ComputeQuotaConfig=5))],
        [
            f"{TEAM_A}: field ComputeQuotaConfig: Input should be a valid dictionary or instance of ComputeQuotaConfig (got 5)"
        ],
        id="a number where the ComputeQuotaConfig belongs",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(name=None)],  # type: ignore[arg-type]
        ["test.yaml#1 (Policy): field metadata.name: a non-empty string is required"],
        id="metadata.name null is not the name 'None'",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(name=7)],  # type: ignore[arg-type]
        ["test.yaml#1 (Policy): field metadata.name: a non-empty string is required, got int 7"],
        id="metadata.name a number",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(name="p" * 64)],
        [
            f"test.yaml#1 (Policy {'p' * 64}): field metadata.name: scheduler config name has 64 characters; at most 63 are allowed"
        ],
        id="a scheduler config name past botocore's 63",
    ),
    pytest.param(
        [cluster_doc(name="test_cluster"), policy_doc()],
        [
            "test.yaml#0 (Cluster test_cluster), Cluster test_cluster: field Name: cluster name 'test_cluster' must be 1 to 63 letters, digits and '-', starting and ending with a letter or digit (got 'test_cluster')"
        ],
        id="a cluster name with '_'",
    ),
    pytest.param(
        [cluster_doc(), {**policy_doc(), "specs": {}}],
        [f"{POLICY}: field specs: unknown field"],
        id="an unknown top-level key",
    ),
    pytest.param(
        [cluster_doc(), {**policy_doc(), "metadata": {"name": "test-policy", "namespace": "x"}}],
        [f"{POLICY}: field metadata.namespace: unknown field"],
        id="an unknown metadata key",
    ),
]


@pytest.mark.parametrize(("bodies", "want_faults"), LIMIT_CASES)
def test_policy_past_api_bounds_is_rejected(bodies: list[Any], want_faults: list[str]) -> None:
    with pytest.raises(InputError) as raised:
        policy, label, cluster = policy_and_cluster(as_read(*bodies))
        faults = policy_faults(policy, cluster, label)
        if faults:
            raise InputError(faults)
    assert [str(fault) for fault in raised.value.faults] == want_faults
    assert raised.value.exit_code == 2


def test_policy_at_every_bound_is_valid() -> None:
    """The largest values the APIs allow are accepted, so the bounds are not too tight."""
    at_bounds = [
        cluster_with([group(6758, InstanceGroupName="w" * 63)]),
        policy_doc(
            [
                {**quota("team-a"), "Description": "d" * 1024, "Name": "n" * 63},
                quota("t" * 51, resources="[{InstanceType=ml.g5.8xlarge,Count=2}]"),
            ],
            scheduler_config=f"PriorityClasses=[{{Name={'c' * 244},Weight=100}}],FairShare=Enabled",
            name="p" * 63,
        ),
    ]
    policy, label, cluster = policy_and_cluster(documents(*at_bounds))
    assert policy_faults(policy, cluster, label) == []
    assert cluster.instance_counts() == {"ml.g5.8xlarge": 6758}


def test_shorthand_and_yaml_numbers_mean_the_same() -> None:
    """``Weight=90`` in shorthand and ``Weight: 90`` in YAML give the same policy."""
    as_shorthand = policy_doc(scheduler_config=SEED_SCHEDULER_CONFIG)
    as_yaml = policy_doc(
        scheduler_config={
            "PriorityClasses": [
                {"Name": "inference", "Weight": 90},
                {"Name": "experimentation", "Weight": 80},
                {"Name": "fine-tuning", "Weight": 50},
                {"Name": "training", "Weight": 70},
            ],
            "FairShare": "Enabled",
        }
    )
    first, _, _ = policy_and_cluster(documents(cluster_doc(), as_shorthand))
    second, _, _ = policy_and_cluster(documents(cluster_doc(), as_yaml))
    assert first == second


def test_deleted_name_line_is_a_duplicate_key_not_a_merged_team() -> None:
    """Deleting team-b's ``- Name:`` line used to merge it into team-a ("valid, 1 allocation")."""
    text = (
        "apiVersion: taskgov/v1\nkind: Policy\nmetadata: {name: p}\nspec:\n"
        "  computeQuotas:\n"
        "  - Name: team-a-quota\n"
        "    ComputeQuotaConfig: ComputeQuotaResources=[{InstanceType=ml.g5.8xlarge,Count=2}]\n"
        "    ComputeQuotaTarget: TeamName=team-a\n"
        "    ComputeQuotaConfig: ComputeQuotaResources=[{InstanceType=ml.g5.8xlarge,Count=2}]\n"
        "    ComputeQuotaTarget: TeamName=team-b\n"
    )
    with pytest.raises(InputError) as raised:
        read_documents(text, "p.yaml")
    assert [str(f) for f in raised.value.faults] == [
        "p.yaml: not valid YAML at line 9, column 5: key 'ComputeQuotaConfig' is given twice in one mapping (first at line 7, again at line 9)"
    ]
