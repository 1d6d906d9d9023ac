"""optimizer.history: the recorded history in DuckDB as jobs, equal to what the twin ran."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from optimizer.demand import JOB_COLUMNS, OPTIONAL_COLUMNS
from optimizer.history import HistoryDemandSource, recorded_clusters
from optimizer.replay import WORKLOAD_COLUMNS, replay
from optimizer.trace import TraceDemandSource
from streams.sink_duckdb import DuckDBSink
from taskgov.errors import InputError
from taskgov.policy.model import Cluster, Policy, PriorityClass, SchedulerConfig
from tests.optimizer.builders import P4D, make_cluster, make_policy
from tests.optimizer.recorded import ORIGIN, record
from tests.sql.builders import DAY, make_workload

G5 = "ml.g5.8xlarge"
SCHEMA = {**JOB_COLUMNS, **OPTIONAL_COLUMNS}
CLASSES = {"training-priority": "training", "inference-priority": "inference"}
TRACE = "vc,arrival_time_s,num_gpus,est_duration_s\n"


def _jobs(*rows: tuple[Any, ...]) -> pl.DataFrame:
    """Expected jobs: team, type, accelerators, submit, start, end, class, preemptions, run."""
    return pl.DataFrame(list(rows), schema=SCHEMA, orient="row")


def _trace(tmp_path: Path) -> Path:
    """team-b submits three 8-GPU, 8-hour jobs a day for two days; team-a one."""
    rows = []
    for day in range(2):
        rows.append(f"team-a,{day * 86_400},8,28800")
        rows += [f"team-b,{day * 86_400},8,28800"] * 3
    path = tmp_path / "trace.csv"
    path.write_text(TRACE + "\n".join(rows) + "\n")
    return path


def _two_teams() -> tuple[Policy, Cluster]:
    policy = make_policy().team("team-a", count=2, borrow_limit=0).team("team-b", count=1)
    return policy.build(), make_cluster(3)


def _contended() -> tuple[pl.DataFrame, Policy, Cluster]:
    """team-a borrows team-b's idle instance; team-b reclaims it with higher priority; team-b's
    32-GPU job never fits the 24 GPUs of the cluster."""
    classes = [
        PriorityClass(name="training", weight=10),
        PriorityClass(name="inference", weight=90),
    ]
    policy = make_policy().team("team-a", count=1, borrow_limit=100).team("team-b", count=2).build()
    policy = policy.model_copy(
        update={
            "scheduler_config": SchedulerConfig(priority_classes=classes, fair_share="Disabled")
        }
    )
    workloads = pl.DataFrame(
        [
            ("team-a", P4D, 8, 0.0, 3600.0, "training"),
            ("team-a", P4D, 8, 0.0, 3600.0, "training"),
            ("team-b", P4D, 8, 600.0, 1800.0, "inference"),
            ("team-b", P4D, 8, 600.0, 1800.0, "inference"),
            ("team-b", P4D, 32, 900.0, 60.0, None),
        ],
        schema=WORKLOAD_COLUMNS,
        orient="row",
    )
    return workloads, policy, make_cluster(3)


def test_history_jobs_equal_those_of_the_trace_source(tmp_path: Path) -> None:
    policy, cluster = _two_teams()
    trace = TraceDemandSource(_trace(tmp_path), policy, cluster)
    db = record(tmp_path / "history.duckdb", trace.workloads, policy, cluster)

    got = HistoryDemandSource(db, origin=ORIGIN).jobs()

    # preempted_run_s comes only from a replay: the record keeps first start and final end.
    assert got.sort(got.columns).equals(trace.jobs().select(got.columns).sort(got.columns))
    assert got.sort("submit_s", "team", "start_s").equals(
        _jobs(
            ("team-a", P4D, 8, 0.0, 0.0, 28800.0, None, 0, 28800.0),
            ("team-b", P4D, 8, 0.0, 0.0, 28800.0, None, 0, 28800.0),
            ("team-b", P4D, 8, 0.0, 28800.0, 57600.0, None, 0, 28800.0),
            ("team-b", P4D, 8, 0.0, 57600.0, 86400.0, None, 0, 28800.0),
            ("team-a", P4D, 8, 86400.0, 86400.0, 115200.0, None, 0, 28800.0),
            ("team-b", P4D, 8, 86400.0, 86400.0, 115200.0, None, 0, 28800.0),
            ("team-b", P4D, 8, 86400.0, 115200.0, 144000.0, None, 0, 28800.0),
            ("team-b", P4D, 8, 86400.0, 144000.0, 172800.0, None, 0, 28800.0),
        )
    )


def test_history_keeps_preemptions_classes_and_jobs_that_never_ran(tmp_path: Path) -> None:
    workloads, policy, cluster = _contended()
    twin = replay(workloads, policy, cluster, name="current").history
    db = record(tmp_path / "history.duckdb", workloads, policy, cluster)

    got = HistoryDemandSource(db, origin=ORIGIN, priority_classes=CLASSES).jobs()

    want = _jobs(
        ("team-a", P4D, 8, 0.0, 0.0, 6001.0, "training", 1, 3600.0),
        ("team-a", P4D, 8, 0.0, 0.0, 3600.0, "training", 0, 3600.0),
        ("team-b", P4D, 8, 600.0, 600.0, 2400.0, "inference", 0, 1800.0),
        ("team-b", P4D, 8, 600.0, 600.0, 2400.0, "inference", 0, 1800.0),
        ("team-b", P4D, 32, 900.0, None, None, None, 0, None),
    )
    assert got.equals(want)
    # The twin knows the never-started job's requested run time; the record cannot.
    assert got.drop("run_s").equals(twin.select(got.columns).drop("run_s"))
    assert got["run_s"].head(4).equals(twin["run_s"].head(4))


def test_history_counts_seconds_from_the_first_submission_by_default(tmp_path: Path) -> None:
    workloads, policy, cluster = _contended()
    late = workloads.with_columns(pl.col("submit_s") + 600)
    db = record(tmp_path / "history.duckdb", late, policy, cluster)

    source = HistoryDemandSource(db)

    assert (source.origin, source.watermark) == (
        ORIGIN + timedelta(seconds=600),
        ORIGIN + timedelta(seconds=6601),
    )
    assert source.jobs()["submit_s"].to_list() == [0.0, 0.0, 600.0, 600.0, 900.0]
    assert (source.instant(900.0), source.seconds(ORIGIN)) == (
        ORIGIN + timedelta(seconds=1500),
        -600.0,
    )


@pytest.mark.parametrize(
    ("since_s", "want_submits"),
    [
        pytest.param(None, [0.0, 0.0, 600.0, 600.0, 900.0], id="all"),
        pytest.param(600.0, [600.0, 600.0, 900.0], id="from a submission on, inclusive"),
        pytest.param(601.0, [900.0], id="between submissions"),
        pytest.param(-60.0, [0.0, 0.0, 600.0, 600.0, 900.0], id="before the origin"),
    ],
)
def test_since_keeps_jobs_submitted_from_then_on(
    tmp_path: Path, since_s: float | None, want_submits: list[float]
) -> None:
    workloads, policy, cluster = _contended()
    db = record(tmp_path / "history.duckdb", workloads, policy, cluster)

    got = HistoryDemandSource(db, origin=ORIGIN).jobs(since_s=since_s)

    assert got["submit_s"].to_list() == want_submits


def _unplaced_history(path: Path) -> Path:
    """Workloads of one cluster whose instance type the record names, or not."""
    inactive = "ClusterQueue hyperpod-ns-team-a-clusterqueue is inactive"
    short = f"couldn't assign flavors to pod set main: insufficient quota for nvidia.com/gpu in flavor {G5}, 8 more needed"
    events = [
        # Never named an instance type.
        *make_workload("never-named")
        .team("team-a")
        .gpus(8)
        .event("00:00", "submitted")
        .event("00:00:05", "pending", message=inactive)
        .events(),
        # Named by a pending message only, then deleted while pending.
        *make_workload("named-by-message")
        .team("team-b")
        .gpus(4)
        .event("00:01", "submitted")
        .event("00:01:05", "pending", message=short)
        .event("00:20", "deleted")
        .events(),
        # Admitted on a flavor, then deleted while running: no run time is known.
        *make_workload("deleted-running")
        .team("team-a")
        .gpus(8)
        .flavor(P4D)
        .priority_class("training-priority", 10)
        .event("00:02", "submitted")
        .event("00:10", "quota_reserved")
        .event("00:10", "admitted")
        .event("00:30", "deleted")
        .events(),
    ]
    with DuckDBSink(path) as sink:
        sink.add_all(events)
    return path


@pytest.mark.parametrize(
    ("team_types", "fallback", "never_named", "want_unplaced"),
    [
        pytest.param({}, None, None, {"team-a": 1}, id="left out without a fallback"),
        pytest.param({"team-a": G5}, None, G5, {}, id="the team's only type"),
        pytest.param({}, P4D, P4D, {}, id="the cluster's only type"),
        pytest.param(
            {"team-b": P4D}, None, None, {"team-a": 1}, id="the record wins over the team"
        ),
    ],
)
def test_jobs_without_a_recorded_instance_type(
    tmp_path: Path,
    team_types: dict[str, str],
    fallback: str | None,
    never_named: str | None,
    want_unplaced: dict[str, int],
) -> None:
    db = _unplaced_history(tmp_path / "history.duckdb")
    source = HistoryDemandSource(
        db, team_instance_types=team_types, instance_type=fallback, priority_classes=CLASSES
    )

    got = source.jobs()

    rows = [
        ("team-a", never_named, 8, 0.0, None, None, None, 0, None),
        ("team-b", G5, 4, 60.0, None, 1200.0, None, 0, None),
        ("team-a", P4D, 8, 120.0, 600.0, 1800.0, "training", 0, None),
    ]
    assert got.equals(_jobs(*rows[0 if never_named else 1 :]))
    assert source.unplaced == want_unplaced


def test_recorded_clusters_are_listed_and_read_apart(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    with DuckDBSink(path) as sink:
        for cluster, start in (("east", "00:00"), ("west", "01:00")):
            sink.add_all(
                make_workload(f"job-{cluster}")
                .cluster(cluster)
                .gpus(2)
                .flavor(G5)
                .event(start, "submitted")
                .event(start, "quota_reserved")
                .event(start, "admitted")
                .event("02:00", "finished")
                .events()
            )

    clusters = [(c.name, c.first_submitted_at, c.workloads) for c in recorded_clusters(path)]
    west = HistoryDemandSource(path, cluster="west").jobs()

    assert clusters == [("east", DAY, 1), ("west", DAY + timedelta(hours=1), 1)]
    assert west.equals(_jobs(("team-a", G5, 2, 0.0, 0.0, 3600.0, None, 0, 3600.0)))


def _several_clusters(path: Path) -> None:
    with DuckDBSink(path) as sink:
        for cluster in ("east", "west"):
            sink.add_all(
                make_workload(f"job-{cluster}")
                .cluster(cluster)
                .event("00:00", "submitted")
                .events()
            )


@pytest.mark.parametrize(
    ("prepare", "kwargs", "want"),
    [
        pytest.param(None, {}, "--db, {db}: no such database", id="no file"),
        pytest.param(
            lambda p: duckdb.connect(str(p)).close(),
            {},
            "--db, {db}: not a taskgov database: it lacks workload_events, workload_intervals, "
            "aggregate_state (the worker creates them: taskgov worker)",
            id="not written by the sink",
        ),
        pytest.param(
            lambda p: DuckDBSink(p).close(),
            {},
            "--db, {db}: no recorded jobs: the database holds no Workloads",
            id="empty history",
        ),
        pytest.param(
            _several_clusters,
            {},
            "--db, {db}: records 2 clusters (east, west): name one with --cluster",
            id="several clusters, none named",
        ),
        pytest.param(
            _several_clusters,
            {"cluster": "north"},
            "--cluster, {db}: no recorded jobs of cluster north (recorded: east, west)",
            id="an unknown cluster",
        ),
    ],
)
def test_history_names_what_is_wrong(
    tmp_path: Path, prepare: Any, kwargs: dict[str, Any], want: str
) -> None:
    db = tmp_path / "history.duckdb"
    if prepare is not None:
        prepare(db)

    with pytest.raises(InputError) as raised:
        HistoryDemandSource(db, **kwargs)

    assert (str(raised.value), raised.value.exit_code) == (want.format(db=db), 2)


def test_no_job_since_then_is_an_error_naming_the_instant(tmp_path: Path) -> None:
    workloads, policy, cluster = _contended()
    db = record(tmp_path / "history.duckdb", workloads, policy, cluster)
    source = HistoryDemandSource(db, origin=ORIGIN)

    with pytest.raises(InputError) as raised:
        source.jobs(since_s=86_400.0)

    assert str(raised.value) == (
        f"--db, {db}: no recorded jobs of cluster test-cluster submitted since "
        f"{datetime(2025, 1, 2).isoformat(sep=' ')}"
    )
