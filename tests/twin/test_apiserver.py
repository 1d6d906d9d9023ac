"""The twin's Kubernetes API as Kueue serves it, seen through kubectl and the official client.

One twin is served for the module: it starts paused, ``kubectl get workloads -A --watch`` is
started, then the twin plays tests/twin/data/apiserver.yaml at 10x (five simulated seconds) and
every test reads the end state. In it, cq-a (StrictFIFO, 4 CPUs) admits wl-1 and wl-2 and
keeps wl-3 pending; cq-b (2 CPUs, v1beta2) admits wl-4 and wl-5, borrowing one CPU from cq-a,
and keeps wl-6 pending: the cohort's 6 CPUs are all in use.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from taskgov.kueue.schemas.validate import check_schema
from taskgov.policy.load import read_documents
from taskgov.twin.scenario import build_scenario
from taskgov.twin.serve import RunningTwinServer, serve_twin
from tests.twin.apiserver_helpers import SCENARIO, kubectl, kubectl_path, parse_table

GROUP = "kueue.x-k8s.io"


@dataclass
class Served:
    server: RunningTwinServer
    kubeconfig: Path
    watch_output: str
    api: client.CustomObjectsApi


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("twin-api")
    kubeconfig = workdir / "kubeconfig"
    scenario = build_scenario(read_documents(SCENARIO.read_text(), SCENARIO.name))
    server = serve_twin(scenario, kubeconfig=kubeconfig, speed=10, paused=True)
    watch_log = workdir / "watch.out"
    try:
        with watch_log.open("w") as sink:
            watcher = subprocess.Popen(
                [kubectl_path(), f"--cache-dir={workdir / 'kube-cache'}"]
                + ["get", "workloads", "-A", "--watch", "--request-timeout=0"],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={"KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin"},
            )
            try:
                _wait_for_watch(server)
                server.live.resume()
                assert server.live.done.wait(30), "the twin did not finish in 30 s"
                time.sleep(1.5)  # let kubectl print the last events
            finally:
                watcher.terminate()
                watcher.wait(10)
        api_client = config.new_client_from_config(config_file=str(kubeconfig))
        yield Served(server, kubeconfig, watch_log.read_text(), client.CustomObjectsApi(api_client))
    finally:
        server.stop()


def _wait_for_watch(server: RunningTwinServer) -> None:
    """Until kubectl has opened its watch (a watch request shows up as an open connection)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.open_watches() > 0:
            return
        time.sleep(0.1)
    pytest.fail("kubectl never started watching workloads")


def _get(served: Served, path: str, accept: str = "application/json") -> tuple[int, Any]:
    request = urllib.request.Request(served.server.url + path, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode()


# -- discovery --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("want_name", "want_short_names", "want_namespaced", "want_kind"),
    [
        pytest.param("workloads", "kwl,kueueworkload,kueueworkloads", "true", "Workload", id="kwl"),
        pytest.param("clusterqueues", "cq", "false", "ClusterQueue", id="cq"),
        pytest.param("localqueues", "queue,queues,lq", "true", "LocalQueue", id="lq"),
        pytest.param("workloadpriorityclasses", "wpc", "false", "WorkloadPriorityClass", id="wpc"),
        pytest.param("cohorts", "co", "false", "Cohort", id="co"),
        pytest.param("resourceflavors", "flavor,flavors,rf", "false", "ResourceFlavor", id="rf"),
        pytest.param("namespaces", "ns", "false", "Namespace", id="namespaces from core v1"),
    ],
)
def test_api_resources_lists_kueue_names(
    served: Served, want_name: str, want_short_names: str, want_namespaced: str, want_kind: str
) -> None:
    result = kubectl(served.kubeconfig, "api-resources")
    rows = {row["NAME"]: row for row in parse_table(result.stdout)}
    row = rows[want_name]
    assert (row["SHORTNAMES"], row["NAMESPACED"], row["KIND"]) == (
        want_short_names,
        want_namespaced,
        want_kind,
    )
    assert len(rows) == 7


def test_discovery_declares_no_categories_as_kueue_does(served: Served) -> None:
    status, body = _get(served, f"/apis/{GROUP}/v1beta2")
    assert status == 200
    assert [r.get("categories") for r in body["resources"]] == [None] * 6
    result = kubectl(served.kubeconfig, "get", "kueue", check=False)
    assert result.returncode == 1
    assert 'the server doesn\'t have a resource type "kueue"' in result.stderr


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/livez"])
def test_health_endpoints_answer_ok(served: Served, path: str) -> None:
    assert _get(served, path) == (200, "ok")


# -- kubectl get ------------------------------------------------------------------------------


def test_get_by_short_names_lists_every_kind(served: Served) -> None:
    result = kubectl(served.kubeconfig, "get", "kwl,cq,lq,wpc", "-A", "-o", "name")
    assert result.stdout.split() == [
        *(f"workload.kueue.x-k8s.io/wl-{i}" for i in (1, 2, 3, 4, 5, 6)),
        "clusterqueue.kueue.x-k8s.io/cq-a",
        "clusterqueue.kueue.x-k8s.io/cq-b",
        "localqueue.kueue.x-k8s.io/lq-a",
        "localqueue.kueue.x-k8s.io/lq-b",
        "workloadpriorityclass.kueue.x-k8s.io/high",
    ]


@pytest.mark.parametrize(
    ("args", "want_rows"),
    [
        pytest.param(
            ("cq",),
            [
                {"NAME": "cq-a", "COHORT": "pool", "PENDING WORKLOADS": "1"},
                {"NAME": "cq-b", "COHORT": "pool", "PENDING WORKLOADS": "1"},
            ],
            id="ClusterQueues show Kueue's default columns",
        ),
        pytest.param(
            ("cq", "-o", "wide"),
            [
                {
                    "NAME": "cq-a",
                    "COHORT": "pool",
                    "STRATEGY": "StrictFIFO",
                    "PENDING WORKLOADS": "1",
                    "ADMITTED WORKLOADS": "2",
                },
                {
                    "NAME": "cq-b",
                    "COHORT": "pool",
                    "STRATEGY": "BestEffortFIFO",
                    "PENDING WORKLOADS": "1",
                    "ADMITTED WORKLOADS": "2",
                },
            ],
            id="wide ClusterQueues add strategy and admitted workloads",
        ),
        pytest.param(
            ("lq", "-A"),
            [
                {
                    "NAMESPACE": "team-a",
                    "NAME": "lq-a",
                    "CLUSTERQUEUE": "cq-a",
                    "PENDING WORKLOADS": "1",
                    "ADMITTED WORKLOADS": "2",
                },
                {
                    "NAMESPACE": "team-b",
                    "NAME": "lq-b",
                    "CLUSTERQUEUE": "cq-b",
                    "PENDING WORKLOADS": "1",
                    "ADMITTED WORKLOADS": "2",
                },
            ],
            id="LocalQueues show their ClusterQueue and counts",
        ),
        pytest.param(
            ("wpc",), [{"NAME": "high", "VALUE": "1000"}], id="priority classes show their value"
        ),
    ],
)
def test_get_prints_kueue_printer_columns(
    served: Served, args: tuple[str, ...], want_rows: list[dict[str, str]]
) -> None:
    assert parse_table(kubectl(served.kubeconfig, "get", *args).stdout) == want_rows


def test_get_workloads_prints_queue_reservation_and_age(served: Served) -> None:
    rows = parse_table(kubectl(served.kubeconfig, "get", "kwl", "-A").stdout)
    assert [
        (r["NAMESPACE"], r["NAME"], r["QUEUE"], r["RESERVED IN"], r["ADMITTED"]) for r in rows
    ] == [
        ("team-a", "wl-1", "lq-a", "cq-a", "True"),
        ("team-a", "wl-2", "lq-a", "cq-a", "True"),
        ("team-a", "wl-3", "lq-a", "", ""),
        ("team-b", "wl-4", "lq-b", "cq-b", "True"),
        ("team-b", "wl-5", "lq-b", "cq-b", "True"),
        ("team-b", "wl-6", "lq-b", "", ""),
    ]
    assert all(r["AGE"].endswith("s") and r["AGE"] != "<invalid>" for r in rows)


def test_watch_keeps_the_columns_after_the_first_list(served: Served) -> None:
    rows = parse_table(served.watch_output)
    header = served.watch_output.splitlines()[0].split()
    assert header == ["NAMESPACE", "NAME", "QUEUE", "RESERVED", "IN", "ADMITTED", "FINISHED", "AGE"]
    # The twin started after the list: every row came as a watch event, each with all columns.
    assert {r["NAME"] for r in rows} == {f"wl-{i}" for i in range(1, 7)}
    assert all(r["QUEUE"] in ("lq-a", "lq-b") and r["AGE"] for r in rows)
    admitted = {(r["NAME"], r["RESERVED IN"]) for r in rows if r["ADMITTED"] == "True"}
    assert admitted == {("wl-1", "cq-a"), ("wl-2", "cq-a"), ("wl-4", "cq-b"), ("wl-5", "cq-b")}


def test_creation_timestamps_are_never_in_the_future(served: Served) -> None:
    listing = served.api.list_cluster_custom_object(GROUP, "v1beta2", "workloads")
    now = datetime.now(UTC)
    created = [
        datetime.fromisoformat(i["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
        for i in listing["items"]
    ]
    assert len(created) == 6
    assert max(created) <= now


# -- each version in its own shape ------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "plural", "namespace", "name", "field", "want"),
    [
        pytest.param(
            "v1beta2",
            "workloads",
            "team-a",
            "wl-1",
            "spec",
            {
                "priority": 1000,
                "priorityClassRef": {
                    "group": GROUP,
                    "kind": "WorkloadPriorityClass",
                    "name": "high",
                },
            },
            id="a v1beta2 Workload names its class by priorityClassRef",
        ),
        pytest.param(
            "v1beta1",
            "workloads",
            "team-a",
            "wl-1",
            "spec",
            {
                "priority": 1000,
                "priorityClassName": "high",
                "priorityClassSource": "kueue.x-k8s.io/workloadpriorityclass",
            },
            id="a v1beta1 Workload keeps priorityClassName and priorityClassSource",
        ),
        pytest.param(
            "v1beta1",
            "clusterqueues",
            None,
            "cq-b",
            "spec",
            {"cohort": "pool"},
            id="a v1beta2 ClusterQueue read as v1beta1 has spec.cohort",
        ),
        pytest.param(
            "v1beta2",
            "clusterqueues",
            None,
            "cq-a",
            "spec",
            {"cohortName": "pool"},
            id="a v1beta1 ClusterQueue read as v1beta2 has spec.cohortName",
        ),
    ],
)
def test_each_version_is_served_in_its_own_shape(
    served: Served,
    version: str,
    plural: str,
    namespace: str | None,
    name: str,
    field: str,
    want: dict[str, Any],
) -> None:
    if namespace:
        obj = served.api.get_namespaced_custom_object(GROUP, version, namespace, plural, name)
    else:
        obj = served.api.get_cluster_custom_object(GROUP, version, plural, name)
    assert obj["apiVersion"] == f"{GROUP}/{version}"
    got = {key: obj[field][key] for key in obj[field] if key in want or "riority" in key}
    got.update({k: obj[field][k] for k in ("cohort", "cohortName") if k in obj[field]})
    assert got == want


@pytest.mark.parametrize(
    ("plural", "name", "want_status"),
    [
        pytest.param(
            "clusterqueues",
            "cq-b",
            {
                "pendingWorkloads": 1,
                "reservingWorkloads": 2,
                "admittedWorkloads": 2,
                "flavorsReservation": [
                    {
                        "name": "default",
                        "resources": [{"name": "cpu", "total": "3", "borrowed": "1"}],
                    }
                ],
                "flavorsUsage": [
                    {
                        "name": "default",
                        "resources": [{"name": "cpu", "total": "3", "borrowed": "1"}],
                    }
                ],
                "conditions": [("Active", "True", "Ready", "Can admit new workloads")],
            },
            id="the borrowing ClusterQueue counts one CPU borrowed",
        ),
        pytest.param(
            "clusterqueues",
            "cq-a",
            {
                "pendingWorkloads": 1,
                "reservingWorkloads": 2,
                "admittedWorkloads": 2,
                "flavorsReservation": [
                    {
                        "name": "default",
                        "resources": [{"name": "cpu", "total": "3", "borrowed": "0"}],
                    }
                ],
                "flavorsUsage": [
                    {
                        "name": "default",
                        "resources": [{"name": "cpu", "total": "3", "borrowed": "0"}],
                    }
                ],
                "conditions": [("Active", "True", "Ready", "Can admit new workloads")],
            },
            id="the lending ClusterQueue uses three of its four CPUs",
        ),
    ],
)
def test_cluster_queue_status_as_kueue_writes_it(
    served: Served, plural: str, name: str, want_status: dict[str, Any]
) -> None:
    status = served.api.get_cluster_custom_object(GROUP, "v1beta2", plural, name)["status"]
    status["conditions"] = [
        (c["type"], c["status"], c["reason"], c["message"]) for c in status["conditions"]
    ]
    status.pop("fairSharing", None)
    assert status == want_status


@pytest.mark.parametrize(
    ("version", "want_usage_field"),
    [
        pytest.param("v1beta2", "flavorsUsage", id="v1beta2 calls it flavorsUsage"),
        pytest.param("v1beta1", "flavorUsage", id="v1beta1 calls it flavorUsage"),
    ],
)
def test_local_queue_status_per_version(
    served: Served, version: str, want_usage_field: str
) -> None:
    status = served.api.get_namespaced_custom_object(
        GROUP, version, "team-b", "localqueues", "lq-b"
    )["status"]
    usage = [{"name": "default", "resources": [{"name": "cpu", "total": "3"}]}]
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "pendingWorkloads": 1,
        "reservingWorkloads": 2,
        "admittedWorkloads": 2,
        "flavorsReservation": usage,
        want_usage_field: usage,
    }


# -- the official client: field selectors and pages -------------------------------------------


@pytest.mark.parametrize(
    ("field_selector", "want_names"),
    [
        pytest.param("metadata.name=wl-5", ["wl-5"], id="by name"),
        pytest.param("metadata.namespace=team-a", ["wl-1", "wl-2", "wl-3"], id="by namespace"),
        pytest.param(
            "metadata.namespace=team-b,metadata.name!=wl-4", ["wl-5", "wl-6"], id="both, negated"
        ),
        pytest.param("metadata.name=nothing", [], id="no match"),
    ],
)
def test_python_client_field_selector(
    served: Served, field_selector: str, want_names: list[str]
) -> None:
    listing = served.api.list_cluster_custom_object(
        GROUP, "v1beta2", "workloads", field_selector=field_selector
    )
    assert [i["metadata"]["name"] for i in listing["items"]] == want_names


def test_python_client_rejects_a_field_custom_resources_cannot_select(served: Served) -> None:
    with pytest.raises(client.ApiException) as raised:
        served.api.list_cluster_custom_object(
            GROUP, "v1beta2", "workloads", field_selector="spec.queueName=lq-a"
        )
    assert raised.value.status == 400
    assert json.loads(raised.value.body)["message"] == 'field label not supported: "spec.queueName"'


def test_python_client_pages_with_limit_and_continue(served: Served) -> None:
    pages, token = [], None
    while True:
        page = served.api.list_cluster_custom_object(
            GROUP, "v1beta2", "workloads", limit=4, _continue=token, label_selector="team"
        )
        pages.append(
            (
                [i["metadata"]["name"] for i in page["items"]],
                page["metadata"].get("remainingItemCount"),
            )
        )
        token = page["metadata"].get("continue")
        if not token:
            break
    assert pages == [(["wl-1", "wl-2", "wl-3", "wl-4"], 2), (["wl-5", "wl-6"], None)]


def test_a_continue_token_of_another_list_is_rejected(served: Served) -> None:
    first = served.api.list_cluster_custom_object(GROUP, "v1beta2", "workloads", limit=1)
    with pytest.raises(client.ApiException) as raised:
        served.api.list_cluster_custom_object(
            GROUP, "v1beta2", "clusterqueues", limit=1, _continue=first["metadata"]["continue"]
        )
    assert raised.value.status == 400


# -- writes, explain, OpenAPI -----------------------------------------------------------------


@pytest.mark.parametrize(
    "method", [pytest.param(m, id=m) for m in ("POST", "PUT", "PATCH", "DELETE")]
)
def test_writes_get_a_method_not_allowed_status(served: Served, method: str) -> None:
    request = urllib.request.Request(
        f"{served.server.url}/apis/{GROUP}/v1beta2/clusterqueues/cq-a",
        data=b"{}",
        method=method,
        headers={"Content-Type": "application/merge-patch+json"},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback
    body = json.loads(raised.value.read())
    assert (raised.value.code, body["kind"], body["reason"], body["code"]) == (
        405,
        "Status",
        "MethodNotAllowed",
        405,
    )


def test_kubectl_delete_is_refused_with_the_status(served: Served) -> None:
    result = kubectl(served.kubeconfig, "delete", "cq", "cq-a", check=False)
    assert result.returncode == 1
    assert "Error from server (MethodNotAllowed)" in result.stderr


@pytest.mark.parametrize(
    ("args", "want_lines"),
    [
        pytest.param(
            ("workload.spec",),
            ["VERSION:    v1beta2", "podSets\t<[]Object> -required-", "priorityClassRef\t<Object>"],
            id="v1beta2 Workload spec",
        ),
        pytest.param(
            ("workload.spec", f"--api-version={GROUP}/v1beta1"),
            ["VERSION:    v1beta1", "priorityClassName\t<string>", "priorityClassSource\t<string>"],
            id="v1beta1 Workload spec",
        ),
        pytest.param(
            ("cq.spec.queueingStrategy",),
            ["FIELD: queueingStrategy <string>", "ENUM:", "StrictFIFO", "BestEffortFIFO"],
            id="ClusterQueue strategy with its enum",
        ),
    ],
)
def test_kubectl_explain_reads_the_served_schema(
    served: Served, args: tuple[str, ...], want_lines: list[str]
) -> None:
    lines = [
        line.strip() for line in kubectl(served.kubeconfig, "explain", *args).stdout.splitlines()
    ]
    assert [want for want in want_lines if want not in lines] == []


@pytest.mark.parametrize(
    ("edit", "want_returncode", "want_text"),
    [
        pytest.param({}, 0, "workload.kueue.x-k8s.io/try-me created (dry run)", id="valid"),
        pytest.param(
            {"queueNam": "lq-a"}, 1, 'unknown field "queueNam"', id="an unknown field is refused"
        ),
    ],
)
def test_kubectl_apply_dry_run_validates_with_the_served_schema(
    served: Served, tmp_path: Path, edit: dict[str, str], want_returncode: int, want_text: str
) -> None:
    manifest = {
        "apiVersion": f"{GROUP}/v1beta2",
        "kind": "Workload",
        "metadata": {"name": "try-me", "namespace": "team-a"},
        "spec": {
            "queueName": "lq-a",
            "podSets": [{"name": "main", "count": 1, "template": {"spec": {"containers": []}}}],
            **edit,
        },
    }
    path = tmp_path / "workload.json"
    path.write_text(json.dumps(manifest))
    result = kubectl(served.kubeconfig, "apply", "--dry-run=client", "-f", str(path), check=False)
    assert result.returncode == want_returncode
    assert want_text in result.stdout + result.stderr


# -- every manifest passes the served schema --------------------------------------------------


def test_every_served_object_passes_the_served_schema(served: Served) -> None:
    schemas = {}
    for version in ("v1beta1", "v1beta2"):
        status, document = _get(served, f"/openapi/v3/apis/{GROUP}/{version}")
        assert status == 200
        for definition in document["components"]["schemas"].values():
            gvk = definition["x-kubernetes-group-version-kind"][0]
            schemas[(gvk["kind"], version)] = definition
    violations = []
    checked = 0
    for version in ("v1beta1", "v1beta2"):
        for plural, kind in (
            ("workloads", "Workload"),
            ("clusterqueues", "ClusterQueue"),
            ("localqueues", "LocalQueue"),
            ("resourceflavors", "ResourceFlavor"),
            ("workloadpriorityclasses", "WorkloadPriorityClass"),
        ):
            for item in served.api.list_cluster_custom_object(GROUP, version, plural)["items"]:
                checked += 1
                violations += check_schema(item, schemas[(kind, version)], item["metadata"]["name"])
    assert (checked, violations) == (2 * 12, [])
