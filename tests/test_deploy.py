"""deploy/: the commands it runs parse, RBAC grants what the watcher reads and no more, and the
Helm templates use only values that values.yaml defines."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
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


def test_helm_rbac_reads_only_what_the_watcher_watches() -> None:
    text = (CHART / "templates" / "rbac.yaml").read_text()
    resources = re.search(r"resources: \[([^\]]+)\]", text)
    verbs = re.search(r"verbs: \[([^\]]+)\]", text)

    assert resources is not None and verbs is not None
    assert tuple(r.strip() for r in resources.group(1).split(",")) == (
        "workloads",
        "clusterqueues",
    )
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


def _containers(template: str) -> list[str]:
    """Each container block of a template, from its ``- name:`` to the next."""
    text = (CHART / "templates" / template).read_text()
    body = text.split("containers:", 1)[1].split("volumeClaimTemplates:", 1)[0]
    body = re.split(r"\n\s+volumes:\n", body, maxsplit=1)[0]
    return re.split(r"\n\s+- name: ", body)[1:]


@pytest.mark.parametrize(
    ("template", "want_containers"),
    [
        pytest.param(
            "statefulset.yaml",
            ["watcher", "worker", "alerts", "serve"],
            id="the pod with DuckDB: watcher, worker, alerts and serve",
        ),
        pytest.param("recommend-cronjob.yaml", ["recommend"], id="scheduled recommendations"),
    ],
)
def test_every_container_is_restricted_and_probed(
    template: str, want_containers: list[str]
) -> None:
    blocks = _containers(template)
    assert [b.split()[0] for b in blocks] == want_containers
    for block in blocks:
        assert 'include "taskgov.containerSecurity"' in block, block.split()[0]
        probed = 'include "taskgov.fileProbes"' in block or (
            "livenessProbe:" in block and "readinessProbe:" in block
        )
        assert probed, block.split()[0]


def test_the_restricted_profile_is_spelled_out() -> None:
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    for line in (
        "allowPrivilegeEscalation: false",
        "readOnlyRootFilesystem: true",
        "runAsNonRoot: true",
        "capabilities: {drop: [ALL]}",
        "seccompProfile: {type: RuntimeDefault}",
    ):
        assert line in helpers


def test_serve_is_probed_over_http_and_has_a_service() -> None:
    serve = _containers("statefulset.yaml")[-1]
    assert "httpGet: {path: /healthz, port: http}" in serve
    assert "httpGet: {path: /readyz, port: http}" in serve
    service = (CHART / "templates" / "serve-service.yaml").read_text()
    assert "kind: Service" in service and "kind: ServiceMonitor" in service
    assert "{{- if .Values.serve.serviceMonitor.enabled }}" in service


def test_image_tag_defaults_to_the_app_version() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    assert values["image"]["tag"] == ""
    assert "{{ .Values.image.tag | default .Chart.AppVersion }}" in helpers


def _conforms(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    """What in ``value`` breaks ``schema`` (the JSON Schema subset values.schema.json uses)."""
    if "$ref" in schema:
        schema = root["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    faults = []
    if "enum" in schema and value not in schema["enum"]:
        faults.append(f"{path}: {value!r} not in {schema['enum']}")
    kind = {"object": dict, "string": str, "boolean": bool, "integer": int}.get(
        schema.get("type", "")
    )
    if kind is not None and not isinstance(value, kind):
        return [*faults, f"{path}: not {schema['type']}"]
    if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
        faults.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        known = schema.get("properties", {})
        faults += [f"{path}.{k}: required" for k in schema.get("required", []) if k not in value]
        if schema.get("additionalProperties") is False:
            faults += [f"{path}.{k}: unknown" for k in value if k not in known]
        for key, item in value.items():
            if key in known:
                faults += _conforms(item, known[key], root, f"{path}.{key}")
    return faults


def test_values_conform_to_the_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert _conforms(values, schema, schema, "values") == []
    broken = {**values, "serve": {**values["serve"], "port": "eight"}, "extra": 1}
    assert _conforms(broken, schema, schema, "values") == [
        "values.extra: unknown",
        "values.serve.port: not integer",
    ]


def test_prometheus_rule_passes_promtool_and_names_our_alerts() -> None:
    rules = CHART / "files" / "prometheus-rules.yaml"
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (scripts/test.sh installs Debian's prometheus)")
    checked = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 4 rules found" in checked.stdout
    names = [r["alert"] for r in yaml.safe_load(rules.read_text())["groups"][0]["rules"]]
    assert names == [
        "TaskgovStarvation",
        "TaskgovPreemptionThrash",
        "TaskgovBorrowBlocked",
        "TaskgovPipelineLag",
    ]
