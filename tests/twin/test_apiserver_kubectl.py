"""kubectl (Debian's) against the served twin: discovery, tables, watch, explain, apply, delete.

The twin and its state are described in tests/twin/conftest.py.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.twin.apiserver_helpers import Served, http_get, kubectl, parse_table

GROUP = "kueue.x-k8s.io"


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
    status, body = http_get(served, f"/apis/{GROUP}/v1beta2")
    assert status == 200
    assert [r.get("categories") for r in body["resources"]] == [None] * 6
    result = kubectl(served.kubeconfig, "get", "kueue", check=False)
    assert result.returncode == 1
    assert 'the server doesn\'t have a resource type "kueue"' in result.stderr


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/livez"])
def test_health_endpoints_answer_ok(served: Served, path: str) -> None:
    assert http_get(served, path) == (200, "ok")


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
        pytest.param(
            ("cq", "--sort-by=.spec.queueingStrategy"),
            [
                {"NAME": "cq-b", "COHORT": "pool", "PENDING WORKLOADS": "1"},
                {"NAME": "cq-a", "COHORT": "pool", "PENDING WORKLOADS": "1"},
            ],
            id="sorting by a spec field gets whole objects in the rows",
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
    # An age kubectl can read (``45s``, ``2m5s``), never ``<invalid>`` (a time in the future).
    assert [r["AGE"] for r in rows if not re.fullmatch(r"\d+[smh](\d+[sm])?", r["AGE"])] == []


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
