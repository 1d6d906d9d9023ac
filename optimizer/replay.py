"""What-if: replay recorded demand on the twin under a policy, and compare policies per team.

A policy is compiled exactly as HyperPod task governance compiles it, to typed Kueue objects
(``taskgov.policy.compile.compile_objects``), and played on the twin (``taskgov.twin``) with the
jobs: each job becomes a Workload in its team's namespace and LocalQueue, asking for its
accelerators on its instance type (a nodeSelector on ``node.kubernetes.io/instance-type``).
Jobs of teams without an active ComputeQuota, or on instance types the cluster lacks, never
start. The twin's ledger becomes a history in the :data:`optimizer.demand.JOB_COLUMNS`
shape, and the metrics come from :func:`optimizer.demand.profile_demand` over one window
shared by every policy compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import polars as pl

from optimizer.demand import (
    JOB_COLUMNS,
    DemandProfile,
    Window,
    default_window,
    profile_demand,
    rank_percentile,
)
from taskgov.catalog import instance_catalog
from taskgov.kueue.hyperpod import local_queue_name, namespace_name, priority_class_name
from taskgov.policy.compile import INSTANCE_TYPE_LABEL, compile_objects
from taskgov.policy.model import Cluster, Policy
from taskgov.twin.engine import Twin
from taskgov.twin.objects import PodSet, WorkloadSpec
from taskgov.twin.scenario import Scenario, stable_uid

# What to replay: one row per job, with its run time once admitted.
WORKLOAD_COLUMNS: dict[str, type[pl.DataType]] = {
    "team": pl.String,
    "instance_type": pl.String,
    "accelerators": pl.Int64,
    "submit_s": pl.Float64,
    "run_s": pl.Float64,
    "priority_class": pl.String,
}
# Optional: set for a job already running when the replay starts (the run so far, seconds);
# it is admitted at its submission, whatever the policy, as the twin's pre-admitted Workload.
ELAPSED_COLUMN = "elapsed_s"
# The per-team metrics of a replay, in display order.
TEAM_METRICS = (
    "jobs",
    "wait_p50_s",
    "wait_p95_s",
    "wait_p95_guaranteed_s",
    "starved_h",
    "preemptions",
    "utilization",
    "borrowed_acc_h",
)


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """One policy played on the twin.

    Attributes:
        name: the label of the policy, e.g. ``current`` or ``proposed``.
        policy: the policy played.
        history: the jobs as the twin ran them (:data:`optimizer.demand.JOB_COLUMNS`, plus
            ``preemptions``, ``run_s`` and ``preempted_run_s``: run time lost to preemption,
            each time from the victim's last admission to its preemption).
    """

    name: str
    policy: Policy
    history: pl.DataFrame


def workloads_from_history(history: pl.DataFrame) -> pl.DataFrame:
    """The jobs of a history as workloads to replay.

    A job's run time is its ``run_s`` when recorded, else ``end_s - start_s``; jobs with
    neither (never started, or still running) cannot be replayed and are left out.
    """
    run = pl.coalesce(pl.col("run_s"), pl.col("end_s") - pl.col("start_s"))
    return (
        history.with_columns(run_s=run)
        .filter(pl.col("run_s").is_not_null())
        .select([pl.col(name).cast(kind) for name, kind in WORKLOAD_COLUMNS.items()])
    )


def nominal_accelerators(policy: Policy) -> dict[tuple[str, str], int]:
    """Nominal accelerators per (team, instance type) of a policy's active allocations."""
    catalog = instance_catalog()
    nominal: dict[tuple[str, str], int] = {}
    for quota in policy.active_quotas():
        team = quota.compute_quota_target.team_name
        for entry in quota.compute_quota_config.compute_quota_resources:
            acc = (
                entry.count * catalog[entry.instance_type].accelerator_count
                if entry.count is not None
                else entry.accelerators or 0
            )
            nominal[(team, entry.instance_type)] = acc
    return nominal


def capacity_accelerators(cluster: Cluster) -> dict[str, int]:
    """Accelerators per instance type in the cluster."""
    catalog = instance_catalog()
    return {t: n * catalog[t].accelerator_count for t, n in cluster.instance_counts().items()}


def scenario_for(workloads: pl.DataFrame, policy: Policy, cluster: Cluster) -> Scenario:
    """The twin scenario of a compiled policy and the workloads that can be queued under it.

    Workload ``job-<n>`` is row n (from 0) of ``workloads``. A row with ``elapsed_s`` set
    was running when the replay starts: it is admitted at its submission (pre-admitted on
    its instance type's flavor) and runs for its ``run_s``.
    """
    compiled = compile_objects(policy, cluster, f"Policy {policy.name}")
    scenario = Scenario.from_objects(compiled.kueue)
    classes = {pc.name: pc.weight for pc in policy.scheduler_config.priority_classes}
    catalog = instance_catalog()
    types = set(cluster.instance_counts())
    teams = {q.compute_quota_target.team_name for q in policy.active_quotas()}
    rows = workloads.select(*WORKLOAD_COLUMNS, _elapsed(workloads)).iter_rows()
    for n, (team, instance_type, acc, submit_s, run_s, class_name, elapsed) in enumerate(rows):
        if team not in teams or instance_type not in types:
            continue
        namespace, name = namespace_name(team), f"job-{n}"
        resource = catalog[instance_type].accelerator_resource
        running = None if elapsed is None else {"main": {str(resource): instance_type}}
        scenario.workloads.append(
            WorkloadSpec(
                namespace=namespace,
                name=name,
                uid=stable_uid(namespace, name),
                queue_name=local_queue_name(team),
                priority=classes.get(class_name or "", 0),
                priority_class=priority_class_name(class_name) if class_name in classes else None,
                pod_sets=(
                    PodSet("main", 1, {resource: acc}, {INSTANCE_TYPE_LABEL: instance_type}),
                ),
                submit_at_ms=round(submit_s * 1000),
                run_for_ms=round(run_s * 1000),
                preadmitted=running,
                preadmitted_cluster_queue=local_queue_name(team) if running else None,
                document=n,
            )
        )
    scenario.workloads.sort(key=lambda w: (w.submit_at_ms, w.document))
    return scenario


def _elapsed(workloads: pl.DataFrame) -> pl.Expr:
    """The ``elapsed_s`` column, or nulls when no job was running at the start."""
    if ELAPSED_COLUMN in workloads.columns:
        return pl.col(ELAPSED_COLUMN).cast(pl.Float64)
    return pl.lit(None, dtype=pl.Float64).alias(ELAPSED_COLUMN)


def replay(workloads: pl.DataFrame, policy: Policy, cluster: Cluster, *, name: str) -> ReplayResult:
    """Play the workloads on the twin under ``policy``.

    Args:
        workloads: jobs with :data:`WORKLOAD_COLUMNS`.
        policy: the policy to compile and play.
        cluster: the instances the policy divides.
        name: a label for the result.

    Returns:
        The history the twin recorded: first admission as ``start_s``, finish as ``end_s``
        (null if never admitted), and the times each job was preempted.

    Raises:
        InputError: the policy does not compile against the cluster.
    """
    scenario = scenario_for(workloads, policy, cluster)
    twin = Twin(scenario)
    twin.run()
    admitted: dict[str, list[int]] = {}
    for change in twin.ledger:
        if change.type == "Admitted" and change.status == "True":
            admitted.setdefault(change.workload, []).append(change.time_ms)
    started = {key: times[0] for key, times in admitted.items()}
    elapsed_ms = {
        w.key: round(1000 * elapsed) for w, elapsed in _running_at_start(scenario, workloads)
    }
    preempted: dict[str, int] = {}
    lost_ms: dict[str, int] = {}
    for preemption in twin.preemptions:
        victim = preemption.victim
        preempted[victim] = preempted.get(victim, 0) + 1
        # Work lost: the run since the victim's last admission before it was preempted (for
        # a job running when the replay started, its run before that too).
        times = admitted.get(victim, [])
        last = max((t for t in times if t <= preemption.time_ms), default=None)
        if last is not None:
            before = elapsed_ms.get(victim, 0) if last == times[0] else 0
            lost_ms[victim] = lost_ms.get(victim, 0) + preemption.time_ms - last + before
    keys = [f"{namespace_name(team)}/job-{n}" for n, team in enumerate(workloads["team"])]
    runs = [twin.runs.get(key) for key in keys]
    history = workloads.with_columns(
        start_s=pl.Series([_seconds(started.get(key)) for key in keys], dtype=pl.Float64),
        end_s=pl.Series(
            [_seconds(run.finished_ms if run else None) for run in runs], dtype=pl.Float64
        ),
        preemptions=pl.Series([preempted.get(key, 0) for key in keys], dtype=pl.Int64),
        preempted_run_s=pl.Series([lost_ms.get(key, 0) / 1000 for key in keys], dtype=pl.Float64),
    )
    return ReplayResult(
        name, policy, history.select(*JOB_COLUMNS, "preemptions", "run_s", "preempted_run_s")
    )


def _running_at_start(
    scenario: Scenario, workloads: pl.DataFrame
) -> list[tuple[WorkloadSpec, float]]:
    """The pre-admitted workloads and their run before the replay started, seconds."""
    elapsed = workloads.select(_elapsed(workloads)).to_series().to_list()
    return [(w, elapsed[w.document]) for w in scenario.workloads if w.preadmitted is not None]


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def common_window(results: Iterable[ReplayResult]) -> Window:
    """From the first submission to the last recorded time of any of the replays."""
    windows = [default_window(r.history) for r in results]
    return Window(min(w.start_s for w in windows), max(w.end_s for w in windows))


def team_metrics(
    result: ReplayResult, cluster: Cluster, window: Window, percentiles: Iterable[float]
) -> tuple[pl.DataFrame, DemandProfile]:
    """Per team (over all its instance types): waits, starvation, preemptions, use.

    ``utilization`` is accelerator-hours used over nominal accelerator-hours (above 1 when
    the team borrows; null without nominal quota); ``starved_h`` sums over instance types.
    """
    profile = profile_demand(
        result.history,
        capacity_acc=capacity_accelerators(cluster),
        nominal_acc=nominal_accelerators(result.policy),
        percentiles=percentiles,
        window=window,
        teams=[q.compute_quota_target.team_name for q in result.policy.active_quotas()],
    )
    span_h = (window.end_s - window.start_s) / 3600
    waits = profile.job_waits.group_by("team").agg(
        wait_p50_s=rank_percentile(pl.col("wait_s"), 50),
        wait_p95_s=rank_percentile(pl.col("wait_s"), 95),
        wait_p95_guaranteed_s=rank_percentile(pl.col("wait_s").filter(pl.col("guaranteed")), 95),
    )
    sums = profile.by_team.group_by("team").agg(
        pl.col("jobs", "preemptions", "starved_h", "used_acc_h", "borrowed_acc_h").sum(),
        pl.col("nominal_acc").sum(),
    )
    metrics = (
        sums.join(waits, on="team", how="left")
        .with_columns(
            utilization=pl.when(pl.col("nominal_acc") > 0).then(
                pl.col("used_acc_h") / (pl.col("nominal_acc") * span_h)
            )
        )
        .select("team", *TEAM_METRICS, "used_acc_h")
        .sort("team")
    )
    return metrics, profile


def cluster_metrics(result: ReplayResult, profile: DemandProfile) -> dict[str, float | int | None]:
    """One replay in a few numbers: waits of all jobs, starvation, utilization, preemptions."""
    jobs = profile.job_waits
    wait = jobs.select(
        p50=rank_percentile(pl.col("wait_s"), 50),
        p95=rank_percentile(pl.col("wait_s"), 95),
        p95_guaranteed=rank_percentile(pl.col("wait_s").filter(pl.col("guaranteed")), 95),
    ).row(0, named=True)
    used = float(profile.cluster["used_acc_h"].sum())
    span_h = (profile.window.end_s - profile.window.start_s) / 3600
    capacity = int(profile.cluster["capacity_acc"].sum())
    return {
        "jobs": jobs.height,
        "never_started": result.history["start_s"].null_count(),
        "wait_p50_s": wait["p50"],
        "wait_p95_s": wait["p95"],
        "wait_p95_guaranteed_s": wait["p95_guaranteed"],
        "jobs_guaranteed": int(jobs["guaranteed"].sum()),
        "starved_h": float(profile.by_team["starved_h"].sum()),
        "preemptions": int(result.history["preemptions"].sum()),
        "utilization": used / (capacity * span_h) if capacity and span_h else None,
    }


def compare(
    workloads: pl.DataFrame,
    policies: Mapping[str, Policy],
    cluster: Cluster,
    *,
    percentiles: Iterable[float] = (50.0, 95.0),
) -> tuple[pl.DataFrame, dict[str, dict[str, float | int | None]]]:
    """Replay the same workloads under each policy, over one shared window.

    Returns:
        Per team, ``<metric>_<policy>`` columns for every metric of :data:`TEAM_METRICS`;
        and per policy, the cluster-wide numbers of :func:`cluster_metrics`.
    """
    results = [replay(workloads, policy, cluster, name=name) for name, policy in policies.items()]
    window = common_window(results)
    table: pl.DataFrame | None = None
    overall = {}
    for result in results:
        metrics, profile = team_metrics(result, cluster, window, percentiles)
        overall[result.name] = cluster_metrics(result, profile)
        renamed = metrics.select(
            "team", *[pl.col(m).alias(f"{m}_{result.name}") for m in TEAM_METRICS]
        )
        table = (
            renamed if table is None else table.join(renamed, on="team", how="full", coalesce=True)
        )
    assert table is not None
    return table.sort("team"), overall
