"""The ``taskgov`` command as a user runs it: output, messages and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.builders import cluster_doc, policy_doc, quota

TASKGOV = [sys.executable, "-m", "taskgov.cli"]


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TASKGOV, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def write_policy(path: Path, *bodies: dict) -> Path:
    path.write_text(yaml.safe_dump_all(list(bodies), sort_keys=False))
    return path


def test_cli_compile_yaml_is_the_compiled_objects(tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "policy.yaml", cluster_doc(), policy_doc())
    result = run("policy", "compile", str(policy))
    assert result.returncode == 0, result.stderr
    kinds = [doc["kind"] for doc in yaml.safe_load_all(result.stdout)]
    assert (
        kinds
        == ["WorkloadPriorityClass"] * 4
        + ["ResourceFlavor"]
        + ["Namespace", "ClusterQueue", "LocalQueue"] * 2
    )


def test_cli_compile_json_is_a_kubernetes_list_and_takes_settings(tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "policy.yaml", cluster_doc(), policy_doc([quota("team-a")]))
    result = run(
        "policy", "compile", "-o", "json", str(policy), env={"TASKGOV_COHORT_NAME": "gpu-pool"}
    )
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert listing["kind"] == "List"
    (queue,) = [item for item in listing["items"] if item["kind"] == "ClusterQueue"]
    assert (queue["apiVersion"], queue["spec"]["cohortName"]) == (
        "kueue.x-k8s.io/v1beta2",
        "gpu-pool",
    )


@pytest.mark.parametrize(
    ("args", "env", "want_api_version", "want_cohort_field"),
    [
        pytest.param([], {}, "kueue.x-k8s.io/v1beta2", "cohortName", id="v1beta2 by default"),
        pytest.param(
            ["--api-version", "v1beta1"],
            {},
            "kueue.x-k8s.io/v1beta1",
            "cohort",
            id="v1beta1 on request by flag",
        ),
        pytest.param(
            [],
            {"TASKGOV_KUEUE_API_VERSION": "v1beta1"},
            "kueue.x-k8s.io/v1beta1",
            "cohort",
            id="v1beta1 on request by setting",
        ),
    ],
)
def test_cli_compile_writes_kueue_v1beta2_unless_asked(
    tmp_path: Path,
    args: list[str],
    env: dict[str, str],
    want_api_version: str,
    want_cohort_field: str,
) -> None:
    policy = write_policy(tmp_path / "policy.yaml", cluster_doc(), policy_doc([quota("team-a")]))
    result = run("policy", "compile", *args, str(policy), env=env)
    assert result.returncode == 0, result.stderr
    kueue = [d for d in yaml.safe_load_all(result.stdout) if d["apiVersion"].startswith("kueue")]
    (queue,) = [d for d in kueue if d["kind"] == "ClusterQueue"]
    assert {d["apiVersion"] for d in kueue} == {want_api_version}
    assert queue["spec"][want_cohort_field] == "shared-pool"


def test_helm_chart_defaults_to_kueue_v1beta2() -> None:
    values = yaml.safe_load(
        (Path(__file__).parents[2] / "deploy/helm/taskgov/values.yaml").read_text()
    )
    assert values["cluster"]["kueueApiVersion"] == "v1beta2"


def test_cli_compile_reads_several_files_and_stdin(tmp_path: Path) -> None:
    cluster = write_policy(tmp_path / "cluster.yaml", cluster_doc())
    stdin = yaml.safe_dump(policy_doc([quota("team-a")]))
    result = run("policy", "compile", str(cluster), "-", stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert "hyperpod-ns-team-a-clusterqueue" in result.stdout


def test_cli_validate_reports_a_valid_policy(tmp_path: Path) -> None:
    policy = write_policy(tmp_path / "p.yaml", cluster_doc(), policy_doc())
    result = run("policy", "validate", str(policy))
    assert (result.returncode, result.stdout) == (
        0,
        f"{policy}#1 (Policy test-policy): valid (2 active allocations, 4 priority classes)\n",
    )


BAD_INPUT_CASES = [
    pytest.param(
        ["policy", "validate", "missing.yaml"],
        None,
        "error: missing.yaml: cannot read: No such file or directory\n",
        id="a file that does not exist",
    ),
    pytest.param(
        ["policy", "validate", "{policy}"],
        [cluster_doc(), policy_doc([quota("team-a", weight=101)])],
        "error: {policy}#1 (Policy test-policy), ComputeQuota team-a-quota: field ComputeQuotaTarget.FairShareWeight: Input should be less than or equal to 100 (got '101')\n",
        id="an invalid weight",
    ),
    pytest.param(
        ["policy", "compile", "{policy}"],
        [cluster_doc(ml_g5_8xlarge=3), policy_doc()],
        "error: {policy}#1 (Policy test-policy), Cluster test-cluster: field ml.g5.8xlarge cpu: allocations guarantee 128 (team-a 64, team-b 64) but 3 instances have 96\n"
        "error: {policy}#1 (Policy test-policy), Cluster test-cluster: field ml.g5.8xlarge memory: allocations guarantee 512Gi (team-a 256Gi, team-b 256Gi) but 3 instances have 384Gi\n"
        "error: {policy}#1 (Policy test-policy), Cluster test-cluster: field ml.g5.8xlarge nvidia.com/gpu: allocations guarantee 4 (team-a 2, team-b 2) but 3 instances have 3\n",
        id="a cluster too small for its allocations",
    ),
    pytest.param(
        ["policy", "compile", "-o", "xml", "{policy}"],
        [cluster_doc(), policy_doc()],
        "Usage: taskgov policy compile [OPTIONS] FILES...\n"
        "Try 'taskgov policy compile -h' for help.\n\n"
        "Error: Invalid value for '-o' / '--output': 'xml' is not one of 'table', 'json', 'yaml', 'csv', 'wide'.\n",
        id="an unknown output format",
    ),
]


@pytest.mark.parametrize(("args", "bodies", "want_stderr"), BAD_INPUT_CASES)
def test_cli_bad_input_exits_2_naming_the_fault(
    tmp_path: Path, args: list[str], bodies: list[dict] | None, want_stderr: str
) -> None:
    policy = tmp_path / "policy.yaml"
    if bodies:
        write_policy(policy, *bodies)
    result = subprocess.run(
        [*TASKGOV, *[arg.replace("{policy}", str(policy)) for arg in args]],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        want_stderr.replace("{policy}", str(policy)),
    )


def test_cli_bad_settings_file_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "taskgov.yaml"
    config.write_text("cohort-name: x\nkafka_bootstarp: localhost:9092\n")
    policy = write_policy(tmp_path / "p.yaml", cluster_doc(), policy_doc())
    result = run("--config", str(config), "policy", "compile", str(policy))
    assert (result.returncode, result.stderr) == (
        2,
        f"error: {config}, settings: field kafka_bootstarp: unknown setting\n",
    )


def test_cli_catalog_csv_lists_the_seed_instance_type() -> None:
    result = run("catalog", "-o", "csv")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert (
        lines[0]
        == "instance_type,accelerator_resource,accelerator_count,accelerator_model,vcpu,memory_gib"
    )
    assert "ml.g5.8xlarge,nvidia.com/gpu,1,A10G,32,128" in lines
    assert "ml.trn1.32xlarge,aws.amazon.com/neurondevice,16,Trainium,128,512" in lines
