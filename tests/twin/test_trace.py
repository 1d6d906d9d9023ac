"""Job traces as twin scenarios: exact specs and quotas, exact faults, the Philly trace, replays."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from taskgov.errors import InputError
from taskgov.settings import PACKAGED_DATA_DIR
from taskgov.settings import PHILLY_JOBS as PHILLY_JOBS_FILE
from taskgov.settings import PHILLY_NODES as PHILLY_NODES_FILE
from taskgov.twin.engine import Twin
from taskgov.twin.objects import (
    ClusterQueue,
    FlavorQuotas,
    PodSet,
    Preemption,
    ResourceGroup,
    ResourceQuota,
    WorkloadSpec,
)
from taskgov.twin.scenario import stable_uid
from taskgov.twin.trace import TraceColumns, load_trace, philly_quotas

# The Philly files shipped inside taskgov (taskgov/data/README.md), whatever TASKGOV_DATA_DIR says.
PHILLY_JOBS = PACKAGED_DATA_DIR / PHILLY_JOBS_FILE
PHILLY_NODES = PACKAGED_DATA_DIR / PHILLY_NODES_FILE
GPU = "nvidia.com/gpu"

TINY = """vc,arrival_time_s,num_gpus,est_duration_s
a,0,2,60
b,1.5,4,30.5
a,0.5,1,10
"""


def write(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    if name.endswith(".parquet"):
        pl.read_csv(io.StringIO(text)).write_parquet(path)
    else:
        path.write_text(text)
    return path


def spec(
    team: str, row: int, gpus: int, submit_ms: int, run_ms: int, priority: int = 0, cls: Any = None
) -> WorkloadSpec:
    return WorkloadSpec(
        namespace=team,
        name=f"job-{row}",
        uid=stable_uid(team, f"job-{row}"),
        queue_name=team,
        priority=priority,
        priority_class=cls,
        pod_sets=(PodSet("main", 1, {GPU: gpus}),),
        submit_at_ms=submit_ms,
        run_for_ms=run_ms,
        document=row,
    )


def cluster_queue(team: str, nominal: int) -> ClusterQueue:
    quotas = FlavorQuotas("default-flavor", {GPU: ResourceQuota(nominal)})
    return ClusterQueue(
        team,
        "trace",
        (ResourceGroup((GPU,), (quotas,)),),
        preemption=Preemption(within_cluster_queue="LowerPriority", reclaim_within_cohort="Any"),
    )


TINY_SPECS = [
    spec("a", 1, 2, 0, 60_000),
    spec("a", 3, 1, 500, 10_000),
    spec("b", 2, 4, 1_500, 30_500),
]

LOAD_CASES = {
    "defaults: team b has no quota row, so nominal 0": (
        TINY,
        "trace.csv",
        {},
        TINY_SPECS,
        {"a": 4, "b": 0},
    ),
    "parquet": (TINY, "trace.parquet", {}, TINY_SPECS, {"a": 4, "b": 0}),
    "default quota": (TINY, "trace.csv", {"default_quota": 2}, TINY_SPECS, {"a": 4, "b": 2}),
    "limit keeps the first jobs by submit time": (
        TINY,
        "trace.csv",
        {"limit": 2},
        TINY_SPECS[:2],
        {"a": 4},
    ),
    "instances of 8 GPUs": (
        TINY,
        "trace.csv",
        {"gpus_per_unit": 8},
        [
            spec("a", 1, 16, 0, 60_000),
            spec("a", 3, 8, 500, 10_000),
            spec("b", 2, 32, 1_500, 30_500),
        ],
        {"a": 4, "b": 0},
    ),
    "own columns, priority values and class names, a quota team without jobs": (
        "team,t,n,d,prio\nx,2,1,5,high\nx,1,3,5,\ny,1,1,1,7\n",
        "trace.csv",
        {
            "columns": TraceColumns("team", "t", "n", "d", "prio"),
            "priority_classes": {"high": 100},
        },
        [
            spec("x", 2, 3, 1_000, 5_000),
            spec("y", 3, 1, 1_000, 1_000, 7),
            spec("x", 1, 1, 2_000, 5_000, 100, "high"),
        ],
        {"a": 4, "x": 0, "y": 0},
    ),
}


@pytest.mark.parametrize("case", LOAD_CASES.values(), ids=LOAD_CASES.keys())
def test_load_gives_exact_specs_and_quotas(tmp_path: Path, case: tuple[Any, ...]) -> None:
    text, name, options, want_specs, want_nominal = case
    scenario = load_trace(write(tmp_path, text, name), {"a": 4}, **options)
    assert scenario.workloads == want_specs
    assert scenario.cluster_queues == {t: cluster_queue(t, n) for t, n in want_nominal.items()}
    assert {k: (q.name, q.cluster_queue) for k, q in scenario.local_queues.items()} == {
        (t, t): (t, t) for t in want_nominal
    }
    assert list(scenario.flavors) == ["default-flavor"]
    assert list(scenario.cohorts) == ["trace"]


HEADER = "vc,arrival_time_s,num_gpus,est_duration_s\n"
FAULT_CASES = {
    "missing column": (
        "vc,arrival_time_s,est_duration_s\na,0,10\n",
        "trace.csv",
        "{path}: field num_gpus: column is missing (the file has: vc, arrival_time_s, est_duration_s)",
    ),
    "negative GPUs": (
        HEADER + "a,0,1,10\na,0,-2,10\n",
        "trace.csv",
        "{path}, row 2: field num_gpus: must not be negative, got '-2'",
    ),
    "negative GPUs, parquet": (
        HEADER + "a,0,-2,10\n",
        "trace.parquet",
        "{path}, row 1: field num_gpus: must not be negative, got -2",
    ),
    "non-numeric duration": (
        HEADER + "a,0,1,ten\n",
        "trace.csv",
        "{path}, row 1: field est_duration_s: must be a number, got 'ten'",
    ),
    "fractional GPUs": (
        HEADER + "a,0,1.5,10\n",
        "trace.csv",
        "{path}, row 1: field num_gpus: must be a whole number, got '1.5'",
    ),
    "empty cells, every fault listed": (
        HEADER + ",,1,10\n",
        "trace.csv",
        "{path}, row 1: field vc: is empty\n{path}, row 1: field arrival_time_s: is empty",
    ),
    "unknown file type": (
        HEADER,
        "trace.txt",
        "{path}: unknown file type '.txt': expected .csv, .csv.gz or .parquet",
    ),
    "unknown priority class": (
        HEADER.replace("\n", ",p\n") + "a,0,1,10,urgent\n",
        "trace.csv",
        "{path}, row 1: field p: unknown priority class 'urgent'",
    ),
}


@pytest.mark.parametrize("case", FAULT_CASES.values(), ids=FAULT_CASES.keys())
def test_bad_input_gives_exact_fault(tmp_path: Path, case: tuple[str, str, str]) -> None:
    text, name, want = case
    path = write(tmp_path, text, name)
    columns = TraceColumns(priority="p") if ",p\n" in text else TraceColumns()
    with pytest.raises(InputError) as caught:
        load_trace(path, {}, columns=columns)
    assert str(caught.value) == want.format(path=path)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_trace(tmp_path / "absent.csv", {})
    assert str(caught.value).startswith(f"{tmp_path / 'absent.csv'}: cannot read: ")


def test_philly_quotas_bad_node_count(tmp_path: Path) -> None:
    path = write(tmp_path, "vc,node num\nv1,8\nv2,lots\n", "nodes.csv")
    with pytest.raises(InputError) as caught:
        philly_quotas(path)
    assert str(caught.value) == f"{path}, row 2: field node num: must be a number, got 'lots'"


def test_real_philly_trace() -> None:
    quotas = philly_quotas(PHILLY_NODES)
    assert len(quotas) == 11
    assert quotas["b436b2"] == 64 * 8
    assert sum(quotas.values()) == 352 * 8
    scenario = load_trace(PHILLY_JOBS, quotas)
    assert len(scenario.workloads) == 15_264
    assert len(scenario.cluster_queues) == 15
    zero = {
        t
        for t, cq in scenario.cluster_queues.items()
        if cq.quota("default-flavor", GPU) == ResourceQuota(0)
    }
    assert zero == set(scenario.cluster_queues) - set(quotas)
    assert len(zero) == 4
    assert [w.submit_at_ms for w in scenario.workloads] == sorted(
        w.submit_at_ms for w in scenario.workloads
    )
    assert len(load_trace(PHILLY_JOBS, quotas, limit=100).workloads) == 100


# Worked out by hand. Cohort "trace", reclaimWithinCohort Any, withinClusterQueue LowerPriority.
# An evicted job that no longer fits is parked; parked jobs are requeued in a batch 1 s after
# quota is released (Kueue v0.17+), so a re-admission comes 1 s after the release that allows it.
REPLAY_CASES = {
    # a (4 GPUs) borrows 2 of b's at 0s; b's job at 10s is within b's nominal, so it reclaims:
    # a/job-1 is evicted; it fits again (6 GPUs, only 4 free before) when b/job-2 finishes at
    # 110s and is admitted at 111s. a/job-3 fits a's own quota at 20s and runs 20s..50s.
    "reclaim within the cohort": (
        HEADER + "a,0,6,100\nb,10,4,100\na,20,2,30\n",
        {"a": 4, "b": 4},
        60_000,
        {
            "a/job-1": ("Pending", None),
            "b/job-2": ("Admitted", 10_000),
            "a/job-3": ("Finished", 20_000),
        },
        [(10_000, "a/job-1", "b/job-2", "InCohortReclamation")],
        {
            "a/job-1": ("Finished", 111_000),
            "b/job-2": ("Finished", 10_000),
            "a/job-3": ("Finished", 20_000),
        },
    ),
    # The high-priority job preempts the low one inside a's ClusterQueue at 5s; the low one is
    # admitted again 1s after the high one finishes at 105s.
    "lower priority within the ClusterQueue": (
        "vc,arrival_time_s,num_gpus,est_duration_s,p\na,0,4,100,\na,5,4,100,high\n",
        {"a": 4},
        50_000,
        {"a/job-1": ("Pending", None), "a/job-2": ("Admitted", 5_000)},
        [(5_000, "a/job-1", "a/job-2", "InClusterQueue")],
        {"a/job-1": ("Finished", 106_000), "a/job-2": ("Finished", 5_000)},
    ),
    # z has no quota row (nominal 0): it borrows a's idle GPUs at 0s, is reclaimed at 10s and
    # runs again from 71s, 1s after a/job-2 finishes at 70s.
    "a team without quota borrows, then is reclaimed": (
        HEADER + "z,0,2,50\na,10,4,60\n",
        {"a": 4},
        30_000,
        {"z/job-1": ("Pending", None), "a/job-2": ("Admitted", 10_000)},
        [(10_000, "z/job-1", "a/job-2", "InCohortReclamation")],
        {"z/job-1": ("Finished", 71_000), "a/job-2": ("Finished", 10_000)},
    ),
}


def states(twin: Twin) -> dict[str, tuple[str, int | None]]:
    """Each workload's state and the time it was last admitted (None when not admitted)."""
    result = {}
    for key, run in twin.runs.items():
        state = (
            "Finished" if run.finished_ms is not None else "Admitted" if run.running else "Pending"
        )
        admitted = run.conditions.get("Admitted")
        at = admitted.last_transition_ms if admitted and admitted.status == "True" else None
        result[key] = (state, at)
    return result


@pytest.mark.parametrize("case", REPLAY_CASES.values(), ids=REPLAY_CASES.keys())
def test_replay_gives_exact_admissions(tmp_path: Path, case: tuple[Any, ...]) -> None:
    text, quotas, until_ms, want_then, want_preemptions, want_end = case
    path = write(tmp_path, text)
    options: dict[str, Any] = {
        "columns": TraceColumns(priority="p"),
        "priority_classes": {"high": 10},
    }
    scenario = load_trace(path, quotas, **(options if ",p\n" in text else {}))
    twin = Twin(scenario)
    twin.run(until_ms)
    assert states(twin) == want_then
    assert [
        (p.time_ms, p.victim, p.preemptor, p.reason) for p in twin.preemptions
    ] == want_preemptions
    twin = Twin(scenario)
    twin.run()
    assert states(twin) == want_end
    for run in twin.runs.values():
        admitted = run.conditions.get("Admitted")
        assert admitted is not None and run.spec.run_for_ms is not None
        assert run.finished_ms == admitted.last_transition_ms + run.spec.run_for_ms
