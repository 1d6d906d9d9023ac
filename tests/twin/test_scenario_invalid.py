"""Scenarios Kueue's API server would reject, and poison that used to crash or hang the twin.

Each case edits one line of a sound scenario; the scenario must fail with exactly the faults
listed (exit code 2), never with a crash, a hang or a silent acceptance.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taskgov.errors import InputError
from taskgov.policy.load import read_documents
from taskgov.twin.engine import Twin
from taskgov.twin.scenario import build_scenario

SOUND = """\
apiVersion: kueue.x-k8s.io/v1beta2
kind: ResourceFlavor
metadata: {name: default}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: ClusterQueue
metadata: {name: cq}
spec:
  cohortName: pool
  resourceGroups:
  - coveredResources: [cpu, nvidia.com/gpu]
    flavors:
    - name: default
      resources:
      - {name: cpu, nominalQuota: 8}
      - {name: nvidia.com/gpu, nominalQuota: 4, lendingLimit: 2}
  fairSharing: {weight: 1}
  flavorFungibility: {whenCanBorrow: MayStopSearch}
  preemption: {reclaimWithinCohort: Any, borrowWithinCohort: {policy: LowerPriority, maxPriorityThreshold: 100}}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: LocalQueue
metadata: {name: lq, namespace: ns}
spec: {clusterQueue: cq}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: Workload
metadata:
  name: wl
  namespace: ns
  labels: {team: a}
  annotations: {taskgov.io/run-for: 1h}
spec:
  queueName: lq
  podSets:
  - name: main
    count: 1
    template:
      spec:
        containers:
        - resources: {requests: {cpu: 1, nvidia.com/gpu: 1}}
---
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata:
  name: pj
  namespace: ns
  labels: {kueue.x-k8s.io/queue-name: lq}
spec:
  pytorchReplicaSpecs:
    Worker:
      replicas: 1
      template:
        spec:
          containers:
          - resources: {requests: {cpu: 1}}
"""
CQ = "s.yaml#1, ClusterQueue cq"
WL = "s.yaml#3, Workload ns/wl"
QUOTA = f"{CQ}: field spec.resourceGroups[0].flavors[0]"
REQUESTS = f"{WL}: field spec.podSets[0].template.spec.containers[0].resources"
POD_SET = """  podSets:
  - name: main
    count: 1
    template:
      spec:
        containers:
        - resources: {requests: {cpu: 1, nvidia.com/gpu: 1}}"""
WORKER = """    Worker:
      replicas: 1
      template:
        spec:
          containers:
          - resources: {requests: {cpu: 1}}"""
ADMITTED = "status: {{admission: {{clusterQueue: {queue}, podSetAssignments: {assignments}}}}}\nspec:\n  queueName: lq"


def edited(*edits: tuple[str, str]) -> str:
    """The sound scenario with each (old, new) edit made once; an edit must apply."""
    text = SOUND
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def admitted(queue: str, assignments: str) -> tuple[str, str]:
    return ("spec:\n  queueName: lq", ADMITTED.format(queue=queue, assignments=assignments))


def cohorts(*parents: tuple[str, str | None]) -> str:
    docs = [
        f"apiVersion: kueue.x-k8s.io/v1beta2\nkind: Cohort\nmetadata: {{name: {name}}}\n"
        + (f"spec: {{parentName: {parent}}}\n" if parent else "spec: {}\n")
        for name, parent in parents
    ]
    return "---\n".join(docs)


INVALID_CASES = [
    pytest.param(
        edited(("spec:\n  queueName: lq", "spec:\n  queueName: missing")),
        [f"{WL}: field spec.queueName: LocalQueue 'missing' does not exist in namespace 'ns'"],
        id="unknown queue",
    ),
    pytest.param(
        edited(("    - name: default\n", "    - name: gpu\n")),
        [f"{QUOTA}.name: ResourceFlavor 'gpu' does not exist"],
        id="missing flavor",
    ),
    pytest.param(
        edited(("requests: {cpu: 1, nvidia", 'requests: {cpu: "-1", nvidia')),
        [f"{REQUESTS}.requests.cpu: must not be negative, got '-1'"],
        id="negative quantity",
    ),
    pytest.param(
        edited(("requests: {cpu: 1, nvidia", "requests: {cpu: two, nvidia")),
        [f"{REQUESTS}.requests.cpu: 'two' is not a quantity"],
        id="quantity that is not a number",
    ),
    pytest.param(
        edited(
            ("{taskgov.io/run-for: 1h}", "{taskgov.io/run-for: 1h, taskgov.io/submit-at: soon}")
        ),
        [
            f"{WL}: field metadata.annotations.taskgov.io/submit-at: 'soon' is not a duration like 90s, 1h30m or 500ms"
        ],
        id="bad duration",
    ),
    pytest.param(
        edited(("nominalQuota: 8}", "nominalQuota: .nan}")),
        [
            "s.yaml: not valid YAML at line 15, column 35: '.nan' is not a finite number (JSON and the Kubernetes API have no infinity or NaN)"
        ],
        id="a .nan quantity",
    ),
    pytest.param(
        edited(("weight: 1}", "weight: .inf}")),
        [
            "s.yaml: not valid YAML at line 17, column 25: '.inf' is not a finite number (JSON and the Kubernetes API have no infinity or NaN)"
        ],
        id="an .inf weight",
    ),
    pytest.param(
        edited(("nominalQuota: 8}", "nominalQuota: 1e999999999}")),
        [
            f"{QUOTA}.resources[0].nominalQuota: '1e999999999' is out of range (at most 9223372036854775807)"
        ],
        id="a 1e999999999 quantity is out of range at once",
    ),
    pytest.param(
        edited(("requests: {cpu: 1, nvidia", "requests: {cpu: 1.0e+99999, nvidia")),
        [
            "s.yaml: not valid YAML at line 41, column 39: '1.0e+99999' is not a finite number (JSON and the Kubernetes API have no infinity or NaN)"
        ],
        id="a request that overflows to infinity",
    ),
    pytest.param(
        edited(("weight: 1}", "weight: -1}")),
        [f"{CQ}: field spec.fairSharing.weight: must not be negative, got -1"],
        id="a negative fair-sharing weight",
    ),
    pytest.param(
        edited(("weight: 1}", "weight: 1n}")),
        [f"{CQ}: field spec.fairSharing.weight: when not 0, weight must be > 10e-9"],
        id="a fair-sharing weight that collapses to zero",
    ),
    pytest.param(
        edited(("resources: {requests: {cpu: 1, nvidia.com/gpu: 1}}", "resources: [1]")),
        [f"{REQUESTS}: must be a mapping, got a list"],
        id="a list where a container's resources belong",
    ),
    pytest.param(
        edited(("requests: {cpu: 1, nvidia.com/gpu: 1}", "requests: [cpu]")),
        [f"{REQUESTS}.requests: must be a mapping, got a list"],
        id="a list where requests belong",
    ),
    pytest.param(
        edited(("labels: {team: a}", "labels: [team]")),
        [f"{WL}: field metadata.labels: must be a mapping, got a list"],
        id="a list where labels belong",
    ),
    pytest.param(
        edited(("annotations: {taskgov.io/run-for: 1h}", "annotations: oops")),
        [f"{WL}: field metadata.annotations: must be a mapping, got a string"],
        id="a string where annotations belong",
    ),
    pytest.param(
        edited(admitted("cq", "[3]")),
        [f"{WL}: field status.admission.podSetAssignments[0]: must be a mapping, got an integer"],
        id="a number where a pod set assignment belongs",
    ),
    pytest.param(
        edited(admitted("cq", "{name: main}")),
        [f"{WL}: field status.admission.podSetAssignments: must be a list, got a mapping"],
        id="a mapping where podSetAssignments belong",
    ),
    pytest.param(
        edited(admitted("nope", "[{name: main, flavors: {cpu: default}}]")),
        [f"{WL}: field status.admission.clusterQueue: ClusterQueue 'nope' does not exist"],
        id="an admission naming a ClusterQueue that does not exist",
    ),
    pytest.param(
        edited(admitted("cq", "[{name: main, flavors: {cpu: gone}}]")),
        [
            f"{WL}: field status.admission.podSetAssignments[0].flavors.cpu: ResourceFlavor 'gone' does not exist"
        ],
        id="an admission naming a flavor that does not exist",
    ),
    pytest.param(
        edited(("whenCanBorrow: MayStopSearch", "whenCanBorrow: [Borrow]")),
        [
            f"{CQ}: field spec.flavorFungibility.whenCanBorrow: must be a string, got a list ['Borrow']"
        ],
        id="whenCanBorrow as a list",
    ),
    pytest.param(
        edited(("whenCanBorrow: MayStopSearch", "whenCanBorrow: Borrow")),
        [
            f"{CQ}: field spec.flavorFungibility.whenCanBorrow: must be one of MayStopSearch, TryNextFlavor, got 'Borrow'"
        ],
        id="a v1beta1 enum value in a v1beta2 object",
    ),
    pytest.param(
        edited(("reclaimWithinCohort: Any", "reclaimWithinCohort: Sometimes")),
        [
            f"{CQ}: field spec.preemption.reclaimWithinCohort: must be one of Never, LowerPriority, Any, got 'Sometimes'"
        ],
        id="a bad enum value",
    ),
    pytest.param(
        edited(("reclaimWithinCohort: Any", "reclaimWithinCohort: Never")),
        [
            f"{CQ}: field spec.preemption: reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never"
        ],
        id="borrowWithinCohort without reclaimWithinCohort, as Kueue's webhook refuses",
    ),
    pytest.param(
        edited(("maxPriorityThreshold: 100", "maxPriorityThreshold: high")),
        [
            f"{CQ}: field spec.preemption.borrowWithinCohort.maxPriorityThreshold: must be an integer, got a string 'high'"
        ],
        id="maxPriorityThreshold high",
    ),
    pytest.param(
        edited(("maxPriorityThreshold: 100", "maxPriorityThreshold: 2147483648")),
        [
            f"{CQ}: field spec.preemption.borrowWithinCohort.maxPriorityThreshold: must be at most 2147483647, got 2147483648"
        ],
        id="maxPriorityThreshold past int32",
    ),
    pytest.param(
        edited(
            (
                "      - {name: nvidia.com/gpu, nominalQuota: 4, lendingLimit: 2}\n",
                "      - {name: nvidia.com/gpu, nominalQuota: 4, lendingLimit: 2}\n"
                "    - name: default\n      resources:\n"
                "      - {name: cpu, nominalQuota: 8}\n      - {name: nvidia.com/gpu, nominalQuota: 4}\n",
            )
        ),
        [f"{CQ}: field spec.resourceGroups[0].flavors[1].name: flavor 'default' is listed twice"],
        id="a flavor listed twice",
    ),
    pytest.param(
        edited(("lendingLimit: 2", "lendingLimit: 5")),
        [f"{QUOTA}.resources[1].lendingLimit: must be less than or equal to the nominalQuota"],
        id="lendingLimit above nominalQuota in a ClusterQueue",
    ),
    pytest.param(
        edited(("  cohortName: pool\n", "")),
        [f"{QUOTA}.resources[1].lendingLimit: must be nil when cohort is empty"],
        id="a lendingLimit without a cohort",
    ),
    pytest.param(
        edited(("{name: cpu, nominalQuota: 8}", "{name: memory, nominalQuota: 8}")),
        [f"{QUOTA}.resources[0].name: must match the name in coveredResources"],
        id="resources not in the order of coveredResources",
    ),
    pytest.param(
        edited((POD_SET, "  podSets: []")),
        [f"{WL}: field spec.podSets: must have at least 1 item(s), got 0"],
        id="podSets empty",
    ),
    pytest.param(
        edited(("    count: 1\n", "    count: -1\n")),
        [f"{WL}: field spec.podSets[0].count: must be at least 0, got -1"],
        id="a negative pod count",
    ),
    pytest.param(
        edited((WORKER, "    Worker: 3")),
        [
            "s.yaml#4, PyTorchJob ns/pj: field spec.pytorchReplicaSpecs.Worker: must be a mapping, got an integer"
        ],
        id="Worker 3 in a PyTorchJob",
    ),
    pytest.param(
        edited(("taskgov.io/run-for: 1h", "taskgov.io/run-for: 99999999999999h")),
        [
            f"{WL}: field metadata.annotations.taskgov.io/run-for: '99999999999999h' is longer than the twin's ten years"
        ],
        id="run-for 99999999999999h",
    ),
    pytest.param(
        edited(
            ("  name: wl\n", "  name: wl\n  uid: u1\n"), ("  name: pj\n", "  name: pj\n  uid: u1\n")
        ),
        [
            "s.yaml#4, PyTorchJob ns/pj: field metadata.uid: 'u1' is also the UID of Workload ns/wl (s.yaml#3)"
        ],
        id="two objects with one UID",
    ),
    pytest.param(
        edited(("  name: wl\n", "  name: " + "w" * 1_000_000 + "\n")),
        [
            "s.yaml#3, Workload: field metadata.name: has 1000000 characters; at most 253 are allowed"
        ],
        id="a 1 MB name",
    ),
    pytest.param(
        edited(("metadata: {name: cq}", "metadata: {name: null}")),
        ["s.yaml#1, ClusterQueue: field metadata.name: is required"],
        id="metadata.name null",
    ),
    pytest.param(
        edited(("metadata: {name: cq}", "metadata: {name: Team_A}")),
        [
            "s.yaml#1, ClusterQueue Team_A: field metadata.name: 'Team_A' is not a valid DNS-1123 subdomain name"
        ],
        id="a name that is not a DNS-1123 subdomain",
    ),
    pytest.param(
        edited(("kind: LocalQueue\n", "kind: LocalQueue\nspecs: {}\n")),
        ["s.yaml#2, LocalQueue ns/lq: field specs: unknown field"],
        id="an unknown top-level key",
    ),
    pytest.param(
        edited(("  fairSharing: {weight: 1}", "  fairSharing: {weight: 1}\n  nominalQuota: 3")),
        [f"{CQ}: field spec.nominalQuota: unknown field"],
        id="an unknown ClusterQueue field",
    ),
    pytest.param(
        edited(
            (
                "apiVersion: kueue.x-k8s.io/v1beta2\nkind: LocalQueue",
                "apiVersion: [x]\nkind: LocalQueue",
            )
        ),
        ["s.yaml#2, LocalQueue ns/lq: field apiVersion: must be a string, got ['x']"],
        id="apiVersion as a list",
    ),
    pytest.param(
        SOUND + "---\n" + cohorts(("pool", "pool")),
        ["s.yaml#5, Cohort pool: field spec.parentName: cohorts form a cycle: pool -> pool"],
        id="a cohort that is its own parent",
    ),
    pytest.param(
        SOUND + "---\n" + cohorts(("pool", "root"), ("root", "pool")),
        [
            "s.yaml#5, Cohort pool: field spec.parentName: cohorts form a cycle: pool -> root -> pool"
        ],
        id="a cohort cycle pool, root, pool",
    ),
    pytest.param(
        SOUND + "---\n" + cohorts(("root", None), ("root", None)),
        ["s.yaml#6, Cohort root: field metadata.name: already defined at s.yaml#5"],
        id="one cohort defined twice",
    ),
]


@pytest.mark.parametrize(("text", "want_faults"), INVALID_CASES)
def test_invalid_scenario_is_rejected_naming_the_field(text: str, want_faults: list[str]) -> None:
    with pytest.raises(InputError) as raised:
        build_scenario(read_documents(text, "s.yaml"))
    assert [str(fault) for fault in raised.value.faults] == want_faults
    assert raised.value.exit_code == 2


def test_sound_scenario_runs() -> None:
    twin = Twin(build_scenario(read_documents(SOUND, "s.yaml")))
    twin.run(None)
    assert finished_and_cpu_in_use(twin) == ({"ns/wl"}, 1000)


def finished_and_cpu_in_use(twin: Twin) -> tuple[set[str], int]:
    """Which Workloads finished (wl runs for 1h), and the CPU millis still in use (the job)."""
    finished = {key for key, run in twin.runs.items() if run.finished_ms is not None}
    return finished, twin.nodes["cq"].usage[("default", "cpu")]


def test_cohort_chain_3000_deep_admits_without_recursion() -> None:
    """A valid 3,000-deep chain of cohorts (RecursionError before) plays to the end."""
    depth = 3000
    chain = cohorts(*((f"c{i}", f"c{i + 1}" if i + 1 < depth else None) for i in range(depth)))
    text = chain + "---\n" + SOUND.replace("cohortName: pool", "cohortName: c0")
    twin = Twin(build_scenario(read_documents(text, "s.yaml")))
    twin.run(None)
    assert finished_and_cpu_in_use(twin) == ({"ns/wl"}, 1000)
    assert twin.nodes["cq"].path().count("/") == depth + 1


def test_twin_run_exits_2_naming_a_cohort_cycle(tmp_path: Path) -> None:
    """Through the installed script: the cycle that used to hang ``quota.py`` forever."""
    scenario = tmp_path / "cycle.yaml"
    scenario.write_text(SOUND + "---\n" + cohorts(("pool", "root"), ("root", "pool")))
    done = subprocess.run(
        [str(Path(sys.executable).with_name("taskgov")), "twin", "run", str(scenario)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr.strip(), done.stdout) == (
        2,
        f"error: {scenario}#5, Cohort pool: field spec.parentName: cohorts form a cycle: pool -> root -> pool",
        "",
    )
