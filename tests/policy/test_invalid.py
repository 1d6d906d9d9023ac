"""Invalid policies: each is rejected with faults that name the document, subject and field."""

from __future__ import annotations

from typing import Any

import pytest

from taskgov.errors import InputError
from taskgov.policy.compile import compile_policy
from taskgov.policy.load import policy_and_cluster, read_documents
from tests.builders import cluster_doc, documents, policy_doc, quota

POLICY = "test.yaml#1 (Policy test-policy)"
CLUSTER = "test.yaml#0 (Cluster test-cluster)"


def classes(n: int) -> str:
    return "PriorityClasses=[" + ",".join(f"{{Name=c{i},Weight={i}}}" for i in range(n)) + "]"


def policy_with(**changes: Any) -> dict[str, Any]:
    doc = policy_doc()
    doc["spec"].update(changes)
    return doc


INVALID_CASES = [
    pytest.param(
        [
            cluster_doc(),
            policy_doc(scheduler_config="PriorityClasses=[{Name=training,Weight=101}]"),
        ],
        [
            f"{POLICY}, SchedulerConfig: field PriorityClasses[0].Weight: Input should be less than or equal to 100 (got '101')"
        ],
        id="priority weight 101",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(scheduler_config=classes(11))],
        [
            f"{POLICY}, SchedulerConfig: field PriorityClasses: List should have at most 10 items after validation, not 11"
        ],
        id="eleven priority classes",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(scheduler_config="PriorityClasses=[{Name=Training,Weight=70}]")],
        [
            f"{POLICY}, SchedulerConfig: field PriorityClasses[0].Name: priority class name 'Training' must be lowercase letters, digits and '-', starting and ending with a letter or digit (got 'Training')"
        ],
        id="priority class name with a capital",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc(scheduler_config="PriorityClasses=[{Name=a,Weight=1},{Name=a,Weight=2}]"),
        ],
        [f"{POLICY}, SchedulerConfig: field PriorityClasses: class 'a' is defined 2 times"],
        id="duplicate priority class",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(scheduler_config="FairShare=Sometimes")],
        [
            f"{POLICY}, SchedulerConfig: field FairShare: Input should be 'Enabled' or 'Disabled' (got 'Sometimes')"
        ],
        id="fair share neither enabled nor disabled",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(scheduler_config="PriorityClasses=[{Name=a,Weight=1}")],
        [
            f"{POLICY}, SchedulerConfig: bad CLI shorthand: expected ']', found end of text at column 35"
        ],
        id="unclosed bracket in the CLI shorthand",
    ),
    pytest.param(
        [cluster_doc(), policy_doc(scheduler_config="PriorityClass=[]")],
        [f"{POLICY}, SchedulerConfig: field PriorityClass: unknown field"],
        id="misspelt scheduler config member",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc([quota("team-a", resources="[{InstanceType=ml.g5.9xlarge,Count=2}]")]),
        ],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaConfig.ComputeQuotaResources[0].InstanceType: unknown accelerated instance type 'ml.g5.9xlarge'; did you mean 'ml.g5.xlarge'? (got 'ml.g5.9xlarge')"
        ],
        id="unknown instance type",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc([quota("team-a", resources="[{InstanceType=ml.p5.48xlarge,Count=1}]")]),
        ],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaConfig.ComputeQuotaResources[0].InstanceType: ml.p5.48xlarge is not in cluster test-cluster"
        ],
        id="instance type the cluster does not have",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc(
                [
                    quota("team-a", resources="[{InstanceType=ml.g5.8xlarge,Count=3}]"),
                    quota("team-b"),
                ]
            ),
        ],
        [
            f"{POLICY}, Cluster test-cluster: field ml.g5.8xlarge cpu: allocations guarantee 160 (team-a 96, team-b 64) but 4 instances have 128",
            f"{POLICY}, Cluster test-cluster: field ml.g5.8xlarge memory: allocations guarantee 640Gi (team-a 384Gi, team-b 256Gi) but 4 instances have 512Gi",
            f"{POLICY}, Cluster test-cluster: field ml.g5.8xlarge nvidia.com/gpu: allocations guarantee 5 (team-a 3, team-b 2) but 4 instances have 4",
        ],
        id="over-allocated cluster",
    ),
    pytest.param(
        [
            cluster_doc(ml_g5_48xlarge=1),
            policy_doc(
                [
                    quota(
                        "team-a",
                        resources="[{InstanceType=ml.g5.48xlarge,Accelerators=6}]",
                        sharing="{Strategy=Lend}",
                    ),
                    quota(
                        "team-b",
                        resources="[{InstanceType=ml.g5.48xlarge,Accelerators=4}]",
                        sharing="{Strategy=Lend}",
                    ),
                ]
            ),
        ],
        [
            f"{POLICY}, Cluster test-cluster: field ml.g5.48xlarge cpu: allocations guarantee 240 (team-a 144, team-b 96) but 1 instances have 192",
            f"{POLICY}, Cluster test-cluster: field ml.g5.48xlarge memory: allocations guarantee 960Gi (team-a 576Gi, team-b 384Gi) but 1 instances have 768Gi",
            f"{POLICY}, Cluster test-cluster: field ml.g5.48xlarge nvidia.com/gpu: allocations guarantee 10 (team-a 6, team-b 4) but 1 instances have 8",
        ],
        id="over-allocated accelerators given one by one",
    ),
    pytest.param(
        [cluster_doc(), policy_doc([quota("team-a"), quota("team-a", name="second")])],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaTarget.TeamName: team 'team-a' has 2 allocations; a team has one",
            f"{POLICY}, ComputeQuota second: field ComputeQuotaTarget.TeamName: team 'team-a' has 2 allocations; a team has one",
        ],
        id="duplicate team",
    ),
    pytest.param(
        [cluster_doc(), policy_doc([quota("team-a"), quota("team-b", name="team-a-quota")])],
        [f"{POLICY}, ComputeQuota team-a-quota: field Name: 2 allocations have this name"],
        id="duplicate allocation name",
    ),
    pytest.param(
        [cluster_doc(), policy_doc([quota("Team_A")])],
        [
            f"{POLICY}, ComputeQuota Team_A-quota: field Name: allocation name 'Team_A-quota' must be 1 to 63 letters, digits and '-', starting and ending with a letter or digit (got 'Team_A-quota')",
            f"{POLICY}, ComputeQuota Team_A-quota: field ComputeQuotaTarget.TeamName: team name 'Team_A' must be lowercase letters, digits and '-', starting and ending with a letter or digit (got 'Team_A')",
        ],
        id="bad team name",
    ),
    pytest.param(
        [cluster_doc(), policy_doc([quota("t" * 52, name="long")])],
        [
            f"{POLICY}, ComputeQuota long: field ComputeQuotaTarget.TeamName: team name has 52 characters; at most 51 fit in the namespace name hyperpod-ns-<team> (got '{'t' * 52}')"
        ],
        id="team name too long for its namespace",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc([quota("team-a", sharing="{Strategy=LendAndBorrow,BorrowLimit=10001}")]),
        ],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaConfig.ResourceSharingConfig.BorrowLimit: Input should be less than or equal to 10000 (got '10001')"
        ],
        id="borrow limit above range",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc([quota("team-a", sharing="{Strategy=LendAndBorrow,BorrowLimit=-1}")]),
        ],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaConfig.ResourceSharingConfig.BorrowLimit: Input should be greater than or equal to 0 (got '-1')"
        ],
        id="negative borrow limit",
    ),
    pytest.param(
        [cluster_doc(), policy_doc([quota("team-a", sharing="{Strategy=Lend,BorrowLimit=50}")])],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaConfig.ResourceSharingConfig.BorrowLimit: Strategy Lend does not borrow, so BorrowLimit cannot be set"
        ],
        id="borrow limit on a team that does not borrow",
    ),
    pytest.param(
        [cluster_doc(), policy_doc([quota("team-a", sharing="{Strategy=Share}")])],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaConfig.ResourceSharingConfig.Strategy: Input should be 'Lend', 'DontLend' or 'LendAndBorrow' (got 'Share')"
        ],
        id="unknown sharing strategy",
    ),
    pytest.param(
        [cluster_doc(), policy_doc([quota("team-a", preempt="Always")])],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaConfig.PreemptTeamTasks: Input should be 'Never' or 'LowerPriority' (got 'Always')"
        ],
        id="unknown preemption setting",
    ),
    pytest.param(
        [cluster_doc(), policy_doc([quota("team-a", weight=101)])],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaTarget.FairShareWeight: Input should be less than or equal to 100 (got '101')"
        ],
        id="fair share weight 101",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc(
                [quota("team-a", resources="[{InstanceType=ml.g5.8xlarge,Count=1,Accelerators=1}]")]
            ),
        ],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaConfig.ComputeQuotaResources[0]: give Count or Accelerators/VCpu/MemoryInGiB, not both (Count and Accelerators are set)"
        ],
        id="count and accelerators together",
    ),
    pytest.param(
        [cluster_doc(), policy_doc([quota("team-a", resources="[{InstanceType=ml.g5.8xlarge}]")])],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaConfig.ComputeQuotaResources[0]: give Count or one of Accelerators, VCpu, MemoryInGiB"
        ],
        id="an entry with no amount",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc(
                [
                    quota(
                        "team-a",
                        resources="[{InstanceType=ml.g5.8xlarge,Count=1},{InstanceType=ml.g5.8xlarge,Count=1}]",
                    )
                ]
            ),
        ],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaConfig.ComputeQuotaResources[1].InstanceType: ml.g5.8xlarge is listed twice"
        ],
        id="an instance type listed twice",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc([quota("team-a", resources="[{InstanceType=ml.g5.8xlarge,Count=two}]")]),
        ],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaConfig.ComputeQuotaResources[0].Count: Input should be a valid integer (got 'two')"
        ],
        id="count that is not a number",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc(
                [
                    quota(
                        "team-a",
                        resources="[{InstanceType=ml.g5.8xlarge,AcceleratorPartition={Type=mig-1g.5gb,Count=1}}]",
                    )
                ]
            ),
        ],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaConfig.ComputeQuotaResources[0].AcceleratorPartition: MIG partitions are not supported yet"
        ],
        id="MIG partition",
    ),
    pytest.param(
        [cluster_doc(), policy_doc([{**quota("team-a"), "ActivationState": "On"}])],
        [
            f"{POLICY}, ComputeQuota team-a-quota: field ActivationState: Input should be 'Enabled' or 'Disabled' (got 'On')"
        ],
        id="unknown activation state",
    ),
    pytest.param(
        [
            cluster_doc(),
            policy_doc([{k: v for k, v in quota("team-a").items() if k != "ComputeQuotaTarget"}]),
        ],
        [f"{POLICY}, ComputeQuota team-a-quota: field ComputeQuotaTarget: Field required"],
        id="allocation without a target",
    ),
    pytest.param(
        [cluster_doc(ml_g5_8xlarge=-1), policy_doc()],
        [
            f"{CLUSTER}, Cluster test-cluster: field InstanceGroups[0].InstanceCount: Input should be greater than or equal to 0 (got -1)"
        ],
        id="negative instance count",
    ),
    pytest.param(
        [policy_doc()],
        ["test.yaml: field kind: need exactly one Cluster document, found 0"],
        id="no cluster",
    ),
    pytest.param(
        [cluster_doc(), {**policy_doc(), "apiVersion": "taskgov/v2"}],
        [f"{POLICY}: field apiVersion: must be 'taskgov/v1'"],
        id="unknown api version",
    ),
    pytest.param(
        [cluster_doc(), policy_with(teams=[])],
        [f"{POLICY}: field spec.teams: unknown field"],
        id="unknown spec field",
    ),
]


@pytest.mark.parametrize(("bodies", "want_faults"), INVALID_CASES)
def test_invalid_policy_is_rejected_naming_the_fault(
    bodies: list[dict], want_faults: list[str]
) -> None:
    with pytest.raises(InputError) as raised:
        policy, label, cluster = policy_and_cluster(documents(*bodies))
        compile_policy(policy, cluster, label)
    assert [str(fault) for fault in raised.value.faults] == want_faults
    assert raised.value.exit_code == 2


def test_invalid_yaml_names_line_and_column() -> None:
    with pytest.raises(InputError) as raised:
        read_documents("kind: Policy\nspec: [unclosed\n", "bad.yaml")
    assert [str(f) for f in raised.value.faults] == [
        "bad.yaml: not valid YAML at line 3, column 1: did not find expected ',' or ']'"
    ]
