"""Every Kueue manifest the project ships, tests with or renders passes Kueue's schema and rules.

The schema is the one the twin serves (``taskgov.kueue.schemas``); the rules restate the CEL
validations of Kueue's CRDs. First the validator is shown to catch each kind of mistake, then
it is run over every YAML file in the repository, the policies the CLI compiles, and the
Workloads the twin renders in both versions.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from taskgov.kueue.schemas.validate import Violation, validate_manifest
from taskgov.policy.load import read_documents
from taskgov.twin.engine import Twin
from taskgov.twin.render import workload_manifest
from taskgov.twin.scenario import build_scenario
from taskgov.twin.versions import convert

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted((ROOT / "tests" / "twin" / "cases").glob("*.yaml"))


def _workload(version: str, **spec: Any) -> dict[str, Any]:
    pod_set = {"name": "main", "count": 2, "template": {"spec": {"containers": [{"name": "c"}]}}}
    return {
        "apiVersion": f"kueue.x-k8s.io/{version}",
        "kind": "Workload",
        "metadata": {"name": "w", "namespace": "n"},
        "spec": {"queueName": "lq", "podSets": [pod_set], **spec},
    }


def _cluster_queue(version: str, **spec: Any) -> dict[str, Any]:
    groups = [
        {
            "coveredResources": ["cpu", "memory"],
            "flavors": [
                {
                    "name": "default",
                    "resources": [
                        {"name": "cpu", "nominalQuota": 8},
                        {"name": "memory", "nominalQuota": "64Gi"},
                    ],
                }
            ],
        }
    ]
    return {
        "apiVersion": f"kueue.x-k8s.io/{version}",
        "kind": "ClusterQueue",
        "metadata": {"name": "cq"},
        "spec": {"resourceGroups": groups, **spec},
    }


@pytest.mark.parametrize(
    ("manifest", "want"),
    [
        pytest.param(_workload("v1beta2", priority=5), [], id="a plain v1beta2 Workload passes"),
        pytest.param(
            _workload("v1beta1", priorityClassName="high"),
            [Violation("spec", "a priority class needs spec.priority too")],
            id="v1beta1 priorityClassName without priority is refused",
        ),
        pytest.param(
            _workload(
                "v1beta2",
                priorityClassRef={"group": "kueue.x-k8s.io", "kind": "PriorityClass", "name": "x"},
                priority=1,
            ),
            [
                Violation(
                    "spec.priorityClassRef", "group kueue.x-k8s.io holds only WorkloadPriorityClass"
                )
            ],
            id="a class reference of the wrong kind for its group is refused",
        ),
        pytest.param(
            _workload("v1beta2", priorityClassName="high", priority=1),
            [Violation("spec.priorityClassName", "unknown field")],
            id="v1beta2 has no priorityClassName",
        ),
        pytest.param(
            _workload("v1beta2", podSets=[]),
            [Violation("spec.podSets", "must have at least 1 item(s), got 0")],
            id="a Workload needs a pod set",
        ),
        pytest.param(
            _cluster_queue("v1beta1", cohort="pool", queueingStrategy="FIFO"),
            [
                Violation(
                    "spec.queueingStrategy",
                    "must be one of StrictFIFO, BestEffortFIFO, got 'FIFO'",
                )
            ],
            id="an unknown queueing strategy is refused",
        ),
        pytest.param(
            _cluster_queue("v1beta2", cohort="pool"),
            [Violation("spec.cohort", "unknown field")],
            id="v1beta2 ClusterQueues name their cohort cohortName",
        ),
        pytest.param(
            {
                **_cluster_queue("v1beta2"),
                "spec": {
                    "resourceGroups": [
                        {
                            "coveredResources": ["cpu"],
                            "flavors": [
                                {
                                    "name": "default",
                                    "resources": [
                                        {"name": "cpu", "nominalQuota": "8", "borrowingLimit": "2"}
                                    ],
                                }
                            ],
                        }
                    ]
                },
            },
            [
                Violation(
                    "spec.resourceGroups[0].flavors[0].resources[0].borrowingLimit",
                    "must be nil when cohort is empty",
                )
            ],
            id="a borrowing limit without a cohort is refused",
        ),
        pytest.param(
            _cluster_queue(
                "v1beta2",
                cohortName="pool",
                preemption={"borrowWithinCohort": {"policy": "LowerPriority"}},
            ),
            [
                Violation(
                    "spec.preemption",
                    "reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never",
                )
            ],
            id="borrowing within the cohort needs reclaiming too",
        ),
        pytest.param(
            _cluster_queue(
                "v1beta2",
                flavorFungibility={
                    "whenCanBorrow": "MayStopSearch",
                    "preference": "PreemptionOverBorrowing",
                },
            ),
            [
                Violation(
                    "spec.flavorFungibility.preference",
                    "preference requires both whenCanBorrow and whenCanPreempt to be TryNextFlavor",
                )
            ],
            id="a fungibility preference needs TryNextFlavor for both",
        ),
    ],
)
def test_validator_catches_each_kind_of_mistake(
    manifest: dict[str, Any], want: list[Violation]
) -> None:
    assert validate_manifest(manifest) == want


def _yaml_files() -> list[Path]:
    tracked = subprocess.run(
        ["git", "ls-files", "*.yaml", "*.yml"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    # Helm templates are not YAML until rendered; the chart's own tests cover them.
    return [ROOT / p for p in tracked if "/templates/" not in p]


def test_every_shipped_and_test_yaml_passes_kueue_validation() -> None:
    violations, checked = {}, 0
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in _yaml_files():
        for index, document in enumerate(yaml.load_all(path.read_text(), Loader=loader)):  # noqa: S506 - a safe loader
            if not isinstance(document, dict):
                continue
            checked += str(document.get("apiVersion", "")).startswith("kueue.x-k8s.io/")
            if found := validate_manifest(document):
                violations[f"{path.relative_to(ROOT)}#{index}"] = found
    assert violations == {}
    assert checked > 400  # the twin cases alone hold more than 400 Kueue objects


def test_compiled_policies_pass_kueue_validation() -> None:
    compiled = subprocess.run(
        [
            sys.executable,
            "-m",
            "taskgov.cli",
            "policy",
            "compile",
            str(ROOT / "taskgov" / "data" / "seed" / "policy.yaml"),
            "-o",
            "yaml",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    documents = [d for d in yaml.safe_load_all(compiled) if isinstance(d, dict)]
    kinds = sorted({d["kind"] for d in documents})
    assert kinds == [
        "ClusterQueue",
        "LocalQueue",
        "Namespace",
        "ResourceFlavor",
        "WorkloadPriorityClass",
    ]
    assert {
        d["metadata"]["name"]: validate_manifest(d) for d in documents if validate_manifest(d)
    } == {}


def test_rendered_workloads_pass_kueue_validation_in_both_versions() -> None:
    violations = {}
    rendered = 0
    for path in CASES:
        documents = [d for d in read_documents(path.read_text(), path.name) if d.index > 0]
        twin = Twin(build_scenario(documents))
        twin.run()
        for key, run in twin.runs.items():
            manifest = workload_manifest(run)
            for version in ("v1beta1", "v1beta2"):
                rendered += 1
                if found := validate_manifest(convert(manifest, version)):
                    violations[f"{path.name}:{key}:{version}"] = found
    assert violations == {}
    assert rendered > 300
