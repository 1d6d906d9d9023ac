"""The seed's three jobs on the seed's policy, condition by condition."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(
    ("victim", "preemptor", "cause", "victim_path", "want_reason", "want_at"),
    [
        pytest.param(
            JOB1,
            JOB2,
            "reclamation within the cohort",
            TEAM_A,
            "InCohortReclamation",
            "2025-01-01T00:05:00Z",
            id="job 1 borrowed, was reclaimed by job 2 and waits for quota",
        ),
        pytest.param(
            JOB2,
            JOB3,
            "prioritization in the ClusterQueue",
            TEAM_B,
            "InClusterQueue",
            "2025-01-01T00:10:00Z",
            id="job 2 was preempted by job 3's higher priority and stays pending",
        ),
    ],
)
def test_seed_preempted_job_is_evicted_requeued_and_pending(
    victim: str, preemptor: str, cause: str, victim_path: str, want_reason: str, want_at: str
) -> None:
    twin = seed_twin()
    message = preempted_message(twin, preemptor, cause, victim_path)
    assert conditions(twin, victim) == [
        ("QuotaReserved", "False", "Pending", GPU_SHORT, want_at),
        ("Evicted", "True", "Preempted", message, want_at),
        ("Admitted", "False", "NoReservation", "The workload has no reservation", want_at),
        ("Preempted", "True", want_reason, message, want_at),
        ("Requeued", "True", "Preempted", message, want_at),
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
