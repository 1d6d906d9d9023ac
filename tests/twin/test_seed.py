"""The seed's three jobs on the seed's policy, condition by condition."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taskgov.errors import InputError
from taskgov.policy.load import read_documents
from taskgov.scenarios import scenario_from_documents
from taskgov.twin.engine import Preemption, Twin
from taskgov.twin.render import workload_manifest

SEED = Path(__file__).parents[2] / "taskgov" / "data" / "seed" / "scenario.yaml"
JOB1 = "hyperpod-ns-team-a/pytorchjob-imagenet-gpu-team-a-1-3217d"
JOB2 = "hyperpod-ns-team-b/pytorchjob-hyperpod-cli-mnist-team-b-14c52"
JOB3 = "hyperpod-ns-team-b/pytorchjob-imagenet-gpu-team-b-2-8cfee"
TEAM_A = "/shared-pool/hyperpod-ns-team-a-clusterqueue"
TEAM_B = "/shared-pool/hyperpod-ns-team-b-clusterqueue"
GPU_SHORT = "couldn't assign flavors to pod set worker: insufficient unused quota for nvidia.com/gpu in flavor ml.g5.8xlarge, 1 more needed"


def seed_twin() -> Twin:
    twin = Twin(scenario_from_documents(read_documents(SEED.read_text(), "seed.yaml")))
    twin.run()
    return twin


def conditions(twin: Twin, key: str) -> list[tuple[str, str, str, str, str]]:
    status = workload_manifest(twin.runs[key])["status"]
    return [
        (c["type"], c["status"], c["reason"], c["message"], c["lastTransitionTime"])
        for c in status["conditions"]
    ]


def preempted_message(twin: Twin, preemptor: str, cause: str, victim_path: str) -> str:
    run = twin.runs[preemptor]
    return (
        f"Preempted to accommodate a workload (UID: {run.spec.uid}, JobUID: {run.spec.job_uid}) "
        f"due to {cause}; preemptor path: {TEAM_B}; preemptee path: {victim_path}"
    )


def test_seed_preemptions_are_a_reclaim_then_a_priority_preemption() -> None:
    assert seed_twin().preemptions == [
        Preemption(300_000, JOB1, JOB2, "InCohortReclamation"),
        Preemption(600_000, JOB2, JOB3, "InClusterQueue"),
    ]


def test_seed_job1_borrowed_then_was_reclaimed_and_waits_for_quota() -> None:
    twin = seed_twin()
    reclaimed = preempted_message(twin, JOB2, "reclamation within the cohort", TEAM_A)
    assert conditions(twin, JOB1) == [
        ("QuotaReserved", "False", "Pending", GPU_SHORT, "2025-01-01T00:05:00Z"),
        ("Evicted", "True", "Preempted", reclaimed, "2025-01-01T00:05:00Z"),
        (
            "Admitted",
            "False",
            "NoReservation",
            "The workload has no reservation",
            "2025-01-01T00:05:00Z",
        ),
        ("Preempted", "True", "InCohortReclamation", reclaimed, "2025-01-01T00:05:00Z"),
        ("Requeued", "True", "Preempted", reclaimed, "2025-01-01T00:05:00Z"),
    ]


def test_seed_job1_was_admitted_borrowing_one_instance() -> None:
    twin = Twin(scenario_from_documents(read_documents(SEED.read_text(), "seed.yaml")))
    twin.run(until_ms=60_000)
    team_a = twin.nodes["hyperpod-ns-team-a-clusterqueue"]
    assert team_a.usage[("ml.g5.8xlarge", "nvidia.com/gpu")] == 3
    assert team_a.nominal(("ml.g5.8xlarge", "nvidia.com/gpu")) == 2
    assert conditions(twin, JOB1) == [
        (
            "QuotaReserved",
            "True",
            "QuotaReserved",
            "Quota reserved in ClusterQueue hyperpod-ns-team-a-clusterqueue",
            "2025-01-01T00:00:00Z",
        ),
        ("Admitted", "True", "Admitted", "The workload is admitted", "2025-01-01T00:00:00Z"),
    ]
    admission = workload_manifest(twin.runs[JOB1])["status"]["admission"]
    assert admission == {
        "clusterQueue": "hyperpod-ns-team-a-clusterqueue",
        "podSetAssignments": [
            {
                "name": "worker",
                "flavors": {
                    "cpu": "ml.g5.8xlarge",
                    "memory": "ml.g5.8xlarge",
                    "nvidia.com/gpu": "ml.g5.8xlarge",
                },
                "resourceUsage": {"cpu": "24", "memory": "96Gi", "nvidia.com/gpu": "3"},
                "count": 3,
            }
        ],
    }


def test_seed_job2_was_preempted_by_job3_and_stays_pending() -> None:
    twin = seed_twin()
    by_priority = preempted_message(twin, JOB3, "prioritization in the ClusterQueue", TEAM_B)
    assert conditions(twin, JOB2) == [
        ("QuotaReserved", "False", "Pending", GPU_SHORT, "2025-01-01T00:10:00Z"),
        ("Evicted", "True", "Preempted", by_priority, "2025-01-01T00:10:00Z"),
        (
            "Admitted",
            "False",
            "NoReservation",
            "The workload has no reservation",
            "2025-01-01T00:10:00Z",
        ),
        ("Preempted", "True", "InClusterQueue", by_priority, "2025-01-01T00:10:00Z"),
        ("Requeued", "True", "Preempted", by_priority, "2025-01-01T00:10:00Z"),
    ]


def test_seed_job3_runs() -> None:
    assert conditions(seed_twin(), JOB3) == [
        (
            "QuotaReserved",
            "True",
            "QuotaReserved",
            "Quota reserved in ClusterQueue hyperpod-ns-team-b-clusterqueue",
            "2025-01-01T00:10:00Z",
        ),
        ("Admitted", "True", "Admitted", "The workload is admitted", "2025-01-01T00:10:00Z"),
    ]


def test_twin_run_output_is_byte_identical_across_runs() -> None:
    command = [sys.executable, "-m", "taskgov.cli", "twin", "run", str(SEED), "-o", "yaml"]
    first = subprocess.run(command, capture_output=True, check=True).stdout
    second = subprocess.run(command, capture_output=True, check=True).stdout
    assert first == second
    assert first.count(b"kind: Workload") == 3


WL = """
apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata: {name: default}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: cq}
spec:
  resourceGroups:
  - coveredResources: [cpu]
    flavors:
    - name: {flavor}
      resources: [{name: cpu, nominalQuota: "4"}]
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: lq, namespace: ns}
spec: {clusterQueue: cq}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: Workload
metadata:
  name: wl
  namespace: ns
  annotations: {taskgov.io/submit-at: "{submit}"}
spec:
  queueName: {queue}
  podSets:
  - name: main
    count: 1
    template: {spec: {containers: [{name: c, resources: {requests: {cpu: "{cpu}"}}}]}}
"""


@pytest.mark.parametrize(
    ("changes", "want_faults"),
    [
        pytest.param(
            {"queue": "missing"},
            [
                "s.yaml#3, Workload ns/wl: field spec.queueName: LocalQueue 'missing' does not exist in namespace 'ns'"
            ],
            id="unknown queue",
        ),
        pytest.param(
            {"flavor": "gpu"},
            [
                "s.yaml#1, ClusterQueue cq: field spec.resourceGroups[0].flavors[0].name: ResourceFlavor 'gpu' does not exist"
            ],
            id="missing flavor",
        ),
        pytest.param(
            {"cpu": "-1"},
            [
                "s.yaml#3, Workload ns/wl: field spec.podSets[0].template.spec.containers[0].resources.requests.cpu: must not be negative, got '-1'"
            ],
            id="negative quantity",
        ),
        pytest.param(
            {"cpu": "two"},
            [
                "s.yaml#3, Workload ns/wl: field spec.podSets[0].template.spec.containers[0].resources.requests.cpu: 'two' is not a quantity"
            ],
            id="quantity that is not a number",
        ),
        pytest.param(
            {"submit": "soon"},
            [
                "s.yaml#3, Workload ns/wl: field metadata.annotations.taskgov.io/submit-at: 'soon' is not a duration like 90s, 1h30m or 500ms"
            ],
            id="bad duration",
        ),
    ],
)
def test_invalid_scenario_names_document_and_field(
    changes: dict[str, str], want_faults: list[str]
) -> None:
    values = {"flavor": "default", "queue": "lq", "cpu": "1", "submit": "0s"} | changes
    text = WL
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    with pytest.raises(InputError) as raised:
        scenario_from_documents(read_documents(text, "s.yaml"))
    assert [str(f) for f in raised.value.faults] == want_faults
