"""``taskgov demo``: the seed's story, told from the twin's ledger."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def test_demo_narrates_borrowing_reclaim_and_priority_preemption() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "taskgov.cli", "demo"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    steps = [line for line in result.stdout.splitlines() if line.startswith("== t=")]
    assert steps == [
        "== t=0s: Job 1 is submitted to hyperpod-ns-team-a",
        "== t=5m: Job 2 is submitted to hyperpod-ns-team-b",
        "== t=10m: Job 3 is submitted to hyperpod-ns-team-b",
    ]
    lines = result.stdout.splitlines()
    narrated = lines[
        : lines.index("== The same scenario, live: twin API server -> watcher -> Kafka")
    ]
    story = [line.strip().split(":")[0] for line in narrated if line.startswith("  ")]
    assert story == [
        "Job 1 (pytorchjob-imagenet-gpu-team-a-1-3217d) is admitted in ClusterQueue hyperpod-ns-team-a-clusterqueue, borrowing 1 nvidia.com/gpu in flavor ml.g5.8xlarge.",
        "Job 1 (pytorchjob-imagenet-gpu-team-a-1-3217d) is evicted",
        "Job 2 (pytorchjob-hyperpod-cli-mnist-team-b-14c52) is admitted in ClusterQueue hyperpod-ns-team-b-clusterqueue.",
        "Job 1 (pytorchjob-imagenet-gpu-team-a-1-3217d) waits",
        "Job 2 (pytorchjob-hyperpod-cli-mnist-team-b-14c52) is evicted",
        "Job 3 (pytorchjob-imagenet-gpu-team-b-2-8cfee) is admitted in ClusterQueue hyperpod-ns-team-b-clusterqueue.",
        "Job 2 (pytorchjob-hyperpod-cli-mnist-team-b-14c52) waits",
    ]
    assert result.stdout.count("$ kubectl get workloads -n hyperpod-ns-team-b") == 3
    # The live part: every transition (15) and the two pending reasons reach Kafka.
    assert "== 17 workload events reached Kafka" in lines
    assert "   17 workload events stored" in lines
    preemption_rows = [line.split()[:4] for line in lines if line.startswith("In")]
    assert preemption_rows == [
        ["InClusterQueue", "team-b", "inference-priority", "team-b"],
        ["InCohortReclamation", "team-b", "training-priority", "team-a"],
    ]
    assert sum("kafka>" in line for line in lines) == 17
    assert (
        "pytorchjob-imagenet-gpu-team-b-2-8cfee      hyperpod-ns-team-b-localqueue  hyperpod-ns-team-b-clusterqueue  True"
        in result.stdout
    )


@pytest.mark.parametrize(
    ("args", "env", "want_stderr"),
    [
        pytest.param(
            ["demo", "--jobs", "5"], {}, "Error: --jobs needs --trace", id="jobs without trace"
        ),
        pytest.param(
            ["demo", "--trace", "philly"],
            {"TASKGOV_DATA_DIR": "/nonexistent/data"},
            "error: --trace, philly: field data_dir: /nonexistent/data/philly-vc/jobs.csv.gz is "
            "missing (TASKGOV_DATA_DIR names the folder of the traces)\n",
            id="trace data missing",
        ),
        pytest.param(
            ["demo", "--trace", "helios"], {}, "Invalid value for '--trace'", id="unknown trace"
        ),
    ],
)
def test_demo_rejects_bad_input_with_exit_2(
    args: list[str], env: dict[str, str], want_stderr: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "taskgov.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )

    assert (result.returncode, result.stdout) == (2, "")
    assert want_stderr in result.stderr
