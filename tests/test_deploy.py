"""deploy/: the commands it runs parse, RBAC grants what the watcher reads and no more, and the
Helm templates use only values that values.yaml defines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from taskgov.cli.main import cli

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
CHART = DEPLOY / "helm" / "taskgov"
KUEUE_READS = (
    "workloads",
    "clusterqueues",
    "localqueues",
    "resourceflavors",
    "cohorts",
    "workloadpriorityclasses",
)


def _parses(args: list[str]) -> None:
    """Parse ``taskgov ARGS`` as the entry point would, without running it."""
    name, *rest = args
    command = cli.get_command(click.Context(cli), name)
    assert command is not None, name
    command.make_context(name, rest)


def test_compose_runs_valid_taskgov_commands() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    commands = {
        name: service["command"]
        for name, service in compose["services"].items()
        if service.get("image") == "taskgov:latest"
    }

    assert sorted(commands) == ["alerts", "watcher", "worker"]
    for args in commands.values():
        _parses([a.replace("${TASKGOV_CLUSTER:-default}", "default") for a in args])
    env = compose["services"]["watcher"]["environment"]
    assert env["TASKGOV_KAFKA_BOOTSTRAP"] == "kafka:9092"


def test_a_bad_command_would_fail_the_parse_check() -> None:
    with pytest.raises(click.UsageError, match="No such option: --every-other"):
        _parses(["alerts", "--every-other", "1m"])


def _cluster_roles(documents: list[Any]) -> dict[str, list[dict[str, Any]]]:
    return {d["metadata"]["name"]: d["rules"] for d in documents if d["kind"] == "ClusterRole"}


def test_rbac_reads_kueue_objects_and_writes_nothing() -> None:
    roles = _cluster_roles(list(yaml.safe_load_all((DEPLOY / "rbac.yaml").read_text())))

    assert roles["taskgov-read"] == [
        {
            "apiGroups": ["kueue.x-k8s.io"],
            "resources": list(KUEUE_READS),
            "verbs": ["get", "list", "watch"],
        }
    ]
    assert roles["taskgov-apply"] == [
        {"apiGroups": ["kueue.x-k8s.io"], "resources": ["clusterqueues"], "verbs": ["get", "patch"]}
    ]


def test_helm_rbac_grants_the_same_reads() -> None:
    text = (CHART / "templates" / "rbac.yaml").read_text()
    resources = re.search(r"resources: \[([^\]]+)\]", text)
    verbs = re.search(r"verbs: \[([^\]]+)\]", text)

    assert resources is not None and verbs is not None
    assert tuple(r.strip() for r in resources.group(1).split(",")) == KUEUE_READS
    assert [v.strip() for v in verbs.group(1).split(",")] == ["get", "list", "watch"]


def _has(values: dict[str, Any], path: list[str]) -> bool:
    node: Any = values
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def test_helm_templates_use_only_defined_values() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    used = {
        match
        for template in (CHART / "templates").iterdir()
        for match in re.findall(r"\.Values\.([A-Za-z0-9_.]+)", template.read_text())
    }

    assert len(used) > 15
    assert sorted(u for u in used if not _has(values, u.split("."))) == []
