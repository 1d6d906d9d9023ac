"""The official Python client against the served twin: versions, status, selectors, pages.

The twin and its state are described in tests/twin/conftest.py.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes import client

from taskgov.kueue.schemas.validate import check_schema
from tests.twin.apiserver_helpers import Served, http_get

GROUP = "kueue.x-k8s.io"


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
    ("method", "path"),
    [
        pytest.param("POST", "clusterqueues/cq-a", id="POST"),
        pytest.param("PUT", "clusterqueues/cq-a", id="PUT"),
        # ClusterQueues take PATCH (the apply issue); other kinds do not.
        pytest.param("PATCH", "resourceflavors/default", id="PATCH"),
        pytest.param("DELETE", "clusterqueues/cq-a", id="DELETE"),
    ],
)
def test_writes_get_a_method_not_allowed_status(served: Served, method: str, path: str) -> None:
    request = urllib.request.Request(
        f"{served.server.url}/apis/{GROUP}/v1beta2/{path}",
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


# -- every manifest passes the served schema --------------------------------------------------


def test_every_served_object_passes_the_served_schema(served: Served) -> None:
    schemas = {}
    for version in ("v1beta1", "v1beta2"):
        status, document = http_get(served, f"/openapi/v3/apis/{GROUP}/{version}")
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


@pytest.mark.parametrize(
    ("path", "want_status", "want_kind"),
    [
        pytest.param(
            "clusterqueues/cq-a/status", 200, "ClusterQueue", id="a ClusterQueue's status"
        ),
        pytest.param(
            "namespaces/team-a/workloads/wl-3/status", 200, "Workload", id="a Workload's status"
        ),
        pytest.param(
            "resourceflavors/default/status", 404, "Status", id="ResourceFlavors have no status"
        ),
        pytest.param("clusterqueues/missing", 404, "Status", id="a missing object"),
    ],
)
def test_status_subresource_as_kueue_crds_declare_it(
    served: Served, path: str, want_status: int, want_kind: str
) -> None:
    status, body = http_get(served, f"/apis/{GROUP}/v1beta2/{path}")
    assert (status, body["kind"]) == (want_status, want_kind)
