"""What the bounds on input cost: the safe YAML loader and the scenario checks.

Prints, for a scenario of 5,000 Workloads (about 1.7 MB of YAML), the time of
``taskgov.yamlsafe.load_all`` as a ratio to libyaml's unbounded ``CSafeLoader`` and to the
pure-Python ``yaml.safe_load_all`` taskgov used before, and the time of the scenario checks as
a ratio to the rest of ``build_scenario``; all timed in this process, best of 3.

    .venv/bin/python bench/bad_input.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import yaml

from taskgov.kueue.objects import (
    ClusterQueue,
    FlavorQuotas,
    LocalQueue,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuota,
)
from taskgov.policy.load import Document
from taskgov.twin.manifests import (
    cluster_queue_manifest,
    local_queue_manifest,
    resource_flavor_manifest,
)
from taskgov.twin.scenario import RUN_FOR, SUBMIT_AT, build_scenario
from taskgov.twin.scenario_checks import scenario_faults
from taskgov.yamlsafe import load_all

WORKLOADS = 5000
# One flavor, one ClusterQueue of 64 CPUs and 8 GPUs and its LocalQueue, as the twin serves them.
QUEUES = [
    resource_flavor_manifest(ResourceFlavor("default")),
    cluster_queue_manifest(
        ClusterQueue(
            "cq",
            None,
            (
                ResourceGroup(
                    ("cpu", "nvidia.com/gpu"),
                    (
                        FlavorQuotas(
                            "default",
                            {"cpu": ResourceQuota(64_000), "nvidia.com/gpu": ResourceQuota(8)},
                        ),
                    ),
                ),
            ),
        )
    ),
    local_queue_manifest(LocalQueue("ns", "lq", "cq")),
]


def workload(n: int) -> dict[str, Any]:
    """Workload ``wl-n``: one pod of 1 CPU and 1 GPU, submitted at ``n`` s, running 10 minutes."""
    pod = {"containers": [{"resources": {"requests": {"cpu": 1, "nvidia.com/gpu": 1}}}]}
    return {
        "apiVersion": "kueue.x-k8s.io/v1beta2",
        "kind": "Workload",
        "metadata": {
            "name": f"wl-{n}",
            "namespace": "ns",
            "annotations": {SUBMIT_AT: f"{n}s", RUN_FOR: "10m"},
        },
        "spec": {
            "queueName": "lq",
            "podSets": [{"name": "main", "count": 1, "template": {"spec": pod}}],
        },
    }


def best_of_3(run: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    documents = QUEUES + [workload(n) for n in range(WORKLOADS)]
    text = yaml.dump_all(documents, Dumper=yaml.CSafeDumper, default_flow_style=None)
    print(f"{WORKLOADS:,} Workloads, {len(text) / 1e6:.1f} MB of YAML")
    libyaml = best_of_3(lambda: list(yaml.load_all(text, Loader=yaml.CSafeLoader)))
    bounded = best_of_3(lambda: load_all(text, "bench.yaml"))
    python = best_of_3(lambda: list(yaml.safe_load_all(text)))
    print(f"  libyaml CSafeLoader (unbounded)      {libyaml:6.2f} s  ratio 1.00")
    print(f"  taskgov.yamlsafe.load_all (bounded)  {bounded:6.2f} s  ratio {bounded / libyaml:.2f}")
    print(f"  yaml.safe_load_all (before)          {python:6.2f} s  ratio {python / libyaml:.2f}")
    bodies = [body for body in load_all(text, "bench.yaml") if body is not None]
    pairs = [(f"bench.yaml#{n}", body) for n, body in enumerate(bodies)]
    checks = best_of_3(lambda: scenario_faults(pairs))
    build = best_of_3(
        lambda: build_scenario([Document("bench.yaml", n, b) for n, b in enumerate(bodies)])
    )
    print(f"  scenario checks                      {checks:6.2f} s")
    print(
        f"  build_scenario, checks included      {build:6.2f} s  checks' share {checks / build:.2f}"
    )


if __name__ == "__main__":
    main()
