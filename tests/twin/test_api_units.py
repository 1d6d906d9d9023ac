"""The API server's parts on their own: ages, paging snapshots, version conversion, patches."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskgov.kueue.objects import ResourceQuota
from taskgov.twin.paging import Pages, PagingError
from taskgov.twin.requota import read_cluster_queue
from taskgov.twin.tables import human_duration, json_path
from taskgov.twin.versions import convert


@pytest.mark.parametrize(
    ("seconds", "want"),
    [
        pytest.param(-5, "<invalid>", id="in the future is invalid, as kubectl shows it"),
        pytest.param(-0.5, "0s", id="less than a second ahead is now"),
        pytest.param(119, "119s", id="seconds up to two minutes"),
        pytest.param(200, "3m20s", id="minutes and seconds under ten minutes"),
        pytest.param(600, "10m", id="whole minutes up to three hours"),
        pytest.param(4 * 3600 + 5 * 60, "4h5m", id="hours and minutes under eight hours"),
        pytest.param(30 * 3600, "30h", id="hours up to two days"),
        pytest.param(3 * 86400 + 3600, "3d1h", id="days and hours under eight days"),
        pytest.param(400 * 86400, "400d", id="days up to two years"),
        pytest.param(3 * 365 * 86400 + 86400, "3y1d", id="years and days under eight years"),
    ],
)
def test_human_duration_reads_like_kubectl(seconds: float, want: str) -> None:
    assert human_duration(seconds) == want


@pytest.mark.parametrize(
    ("path", "want"),
    [
        pytest.param(".spec.queueName", "lq", id="a field"),
        pytest.param(".status.conditions[?(@.type=='Admitted')].status", "True", id="a filter"),
        pytest.param(".status.conditions[?(@.type=='Finished')].status", None, id="no match"),
        pytest.param(".status.admission.clusterQueue", None, id="a missing field"),
    ],
)
def test_json_path_reads_printer_columns(path: str, want: Any) -> None:
    obj = {
        "spec": {"queueName": "lq"},
        "status": {"conditions": [{"type": "Admitted", "status": "True"}]},
    }
    assert json_path(obj, path) == want


def _listing(count: int) -> tuple[list[dict[str, Any]], int]:
    return [{"metadata": {"name": f"o{i}"}} for i in range(count)], 42


def test_pages_serve_one_snapshot_then_expire_when_forgotten() -> None:
    pages = Pages(keep=1)
    first = pages.page("workloads", lambda: _listing(5), "2", "")
    assert ([i["metadata"]["name"] for i in first.items], first.remaining) == (["o0", "o1"], 3)
    # The list changes, but the token's pages come from the first snapshot.
    second = pages.page("workloads", lambda: _listing(1), "2", first.token)
    assert [i["metadata"]["name"] for i in second.items] == ["o2", "o3"]
    pages.page("workloads", lambda: _listing(9), "2", "")  # a newer paged list evicts it
    with pytest.raises(PagingError) as raised:
        pages.page("workloads", lambda: _listing(5), "2", second.token)
    assert (raised.value.code, raised.value.reason) == (410, "Expired")


@pytest.mark.parametrize(
    ("limit", "token", "want_code"),
    [
        pytest.param("ten", "", 400, id="a limit that is not a number"),
        pytest.param("2", "not-base64!", 400, id="a token that is not ours"),
    ],
)
def test_pages_reject_bad_input(limit: str, token: str, want_code: int) -> None:
    with pytest.raises(PagingError) as raised:
        Pages().page("workloads", lambda: _listing(3), limit, token)
    assert raised.value.code == want_code


_SOURCES = st.sampled_from(
    ["kueue.x-k8s.io/workloadpriorityclass", "scheduling.k8s.io/priorityclass"]
)


@given(name=st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True), source=_SOURCES)
def test_workload_priority_class_survives_both_conversions(name: str, source: str) -> None:
    v1beta1 = {
        "apiVersion": "kueue.x-k8s.io/v1beta1",
        "kind": "Workload",
        "metadata": {"name": "w"},
        "spec": {"priority": 3, "priorityClassName": name, "priorityClassSource": source},
    }
    v1beta2 = convert(v1beta1, "v1beta2")
    assert set(v1beta2["spec"]) == {"priority", "priorityClassRef"}
    assert v1beta2["spec"]["priorityClassRef"]["name"] == name
    assert convert(v1beta2, "v1beta1") == v1beta1


@given(cohort=st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True))
def test_cluster_queue_cohort_survives_both_conversions(cohort: str) -> None:
    v1beta2 = {
        "apiVersion": "kueue.x-k8s.io/v1beta2",
        "kind": "ClusterQueue",
        "spec": {"cohortName": cohort},
    }
    v1beta1 = convert(v1beta2, "v1beta1")
    assert v1beta1["spec"] == {"cohort": cohort}
    assert convert(v1beta1, "v1beta2") == v1beta2


def _patched(version: str, spec: dict[str, Any]) -> dict[str, Any]:
    quotas = [{"name": "cpu", "nominalQuota": "4", "lendingLimit": "2"}]
    groups = [{"coveredResources": ["cpu"], "flavors": [{"name": "default", "resources": quotas}]}]
    return {
        "apiVersion": f"kueue.x-k8s.io/{version}",
        "kind": "ClusterQueue",
        "metadata": {"name": "cq", "resourceVersion": "3"},
        "spec": {"resourceGroups": groups, **spec},
    }


@pytest.mark.parametrize(
    ("manifest", "want_error"),
    [
        pytest.param(
            _patched("v1beta1", {"cohort": "pool", "nominalQuota": 3}),
            "spec.nominalQuota: unknown field",
            id="a field Kueue's schema does not have is refused",
        ),
        pytest.param(
            _patched("v1beta2", {"cohortName": "pool", "queueingStrategy": "FIFO"}),
            "spec.queueingStrategy: must be one of StrictFIFO, BestEffortFIFO, got 'FIFO'",
            id="a queueing strategy Kueue does not know is refused",
        ),
        pytest.param(
            _patched("v1beta1", {}),
            "spec.resourceGroups[0].flavors[0].resources[0].lendingLimit: "
            "must be nil when cohort is empty",
            id="a lending limit without a cohort is refused, as Kueue's webhook does",
        ),
    ],
)
def test_cluster_queue_patch_is_refused_as_kueue_would(
    manifest: dict[str, Any], want_error: str
) -> None:
    with pytest.raises(ValueError) as raised:
        read_cluster_queue(manifest)
    assert str(raised.value) == want_error


def test_cluster_queue_patch_kueue_accepts_is_read() -> None:
    queue = read_cluster_queue(_patched("v1beta2", {"cohortName": "pool"}))
    assert (queue.name, queue.cohort, queue.resource_groups[0].flavors[0].resources["cpu"]) == (
        "cq",
        "pool",
        ResourceQuota(4000, None, 2000),
    )
