"""Recorded demand, per team and instance type: how much was asked, served, borrowed, waited.

A :class:`DemandSource` hands over the jobs of a period as a polars DataFrame (one row per job,
columns :data:`JOB_COLUMNS`); today a job trace replayed on the twin (``optimizer.trace``),
later a DuckDB reader of the recorded Kueue Workloads. :func:`profile_demand` turns the jobs
into step functions of time, exactly (no sampling):

- demand(t): accelerators of jobs submitted and not yet ended (running + pending);
- running(t): accelerators of jobs started and not yet ended; pending(t) = demand - running;
- idle(t): the instance type's accelerators minus everything running on it;
- offered(t): accelerators of jobs within their run time counted from submission, as if no
  job ever waited (a job that never ran counts until the window ends). Unlike demand it
  holds no queue, so it does not grow with the backlog today's quotas cause.

Percentiles of demand are time-weighted: ``demand_p75`` is the least level L such that demand
is at most L for at least 75% of the window. Percentiles of job waits use the nearest rank
(the ceil(p/100 * n)-th smallest wait). A job is *within guarantee* when its team's demand at
its submission, itself included, fits the team's nominal quota. A team *starves* while it has
pending accelerators and its instance type has idle ones (a job too large for the idle
capacity still counts: an upper bound). Amounts are accelerators; ``*_acc_h`` are
accelerator-hours, ``*_h`` hours, ``*_s`` seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import polars as pl

from optimizer import steps
from optimizer.steps import offered_column, percentile_column, rank_percentile
from taskgov.errors import Fault, InputError

# The jobs a DemandSource returns. start_s is null for a job that never started; end_s is null
# for a job still running or pending when the record ends.
JOB_COLUMNS: dict[str, type[pl.DataType]] = {
    "team": pl.String,
    "instance_type": pl.String,
    "accelerators": pl.Int64,
    "submit_s": pl.Float64,
    "start_s": pl.Float64,
    "end_s": pl.Float64,
    "priority_class": pl.String,
}
# Optional: times the job was preempted (default 0) and its run time once admitted (if known).
OPTIONAL_COLUMNS: dict[str, type[pl.DataType]] = {"preemptions": pl.Int64, "run_s": pl.Float64}
MAX_FAULTS = 20
# Re-exported: callers name percentile columns and nearest-rank percentiles through here.
__all__ = [
    "JOB_COLUMNS",
    "OPTIONAL_COLUMNS",
    "DemandProfile",
    "DemandSource",
    "FrameDemandSource",
    "Window",
    "check_jobs",
    "default_window",
    "offered_column",
    "percentile_column",
    "profile_demand",
    "rank_percentile",
]


class DemandSource(Protocol):
    """Where recorded jobs come from: a trace today, DuckDB views later."""

    def jobs(self, *, since_s: float | None = None) -> pl.DataFrame:
        """Jobs submitted at or after ``since_s`` (all when ``None``), as :data:`JOB_COLUMNS`."""
        ...


@dataclass(frozen=True, slots=True)
class FrameDemandSource:
    """Jobs already in memory, e.g. a hand-made history in a test."""

    frame: pl.DataFrame
    name: str = "jobs"

    def jobs(self, *, since_s: float | None = None) -> pl.DataFrame:
        """The checked jobs submitted at or after ``since_s``."""
        return check_jobs(self.frame, self.name, since_s=since_s)


@dataclass(frozen=True, slots=True)
class Window:
    """The period a profile covers, in seconds on the record's clock."""

    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class DemandProfile:
    """Demand statistics of one window.

    Attributes:
        window: the period covered.
        percentiles: the demand percentiles held as ``demand_p<p>`` columns.
        by_team: one row per team and instance type (every team, every type).
        by_class: one row per team, instance type and priority class that had jobs.
        cluster: one row per instance type: capacity, use and utilization.
        job_waits: one row per job submitted in the window: team, instance type, priority
            class, preemptions, ``wait_s`` and whether it was ``guaranteed``.
    """

    window: Window
    percentiles: tuple[float, ...]
    by_team: pl.DataFrame
    by_class: pl.DataFrame
    cluster: pl.DataFrame
    job_waits: pl.DataFrame


def check_jobs(frame: pl.DataFrame, source: str, *, since_s: float | None = None) -> pl.DataFrame:
    """The jobs with :data:`JOB_COLUMNS` types and optional columns filled in, or faults.

    Raises:
        InputError: a missing column, or rows (numbered from 1) with bad values.
    """
    missing = [name for name in JOB_COLUMNS if name not in frame.columns]
    if missing:
        have = ", ".join(frame.columns)
        raise InputError(
            [Fault(source, "", c, f"column is missing (have: {have})") for c in missing]
        )
    wanted = {**JOB_COLUMNS, **{k: v for k, v in OPTIONAL_COLUMNS.items() if k in frame.columns}}
    typed = frame.select(
        [pl.col(name).cast(kind, strict=False) for name, kind in wanted.items()]
    ).with_row_index("row", offset=1)
    checks = {
        "team": pl.col("team").is_null() | (pl.col("team").str.strip_chars() == ""),
        "instance_type": pl.col("instance_type").is_null(),
        "accelerators": pl.col("accelerators").is_null() | (pl.col("accelerators") < 0),
        "submit_s": pl.col("submit_s").is_null() | ~pl.col("submit_s").is_finite(),
        "start_s": pl.col("start_s") < pl.col("submit_s"),
        "end_s": pl.col("end_s") < pl.coalesce("start_s", "submit_s"),
    }
    faults: list[Fault] = []
    raw = frame.select(list(wanted)).with_row_index("row", offset=1)
    for name in wanted:
        unparsable = raw.get_column(name).is_not_null() & typed.get_column(name).is_null()
        bad = checks.get(name, pl.lit(False))
        rows = typed.filter(bad.fill_null(False) | unparsable)
        for row in rows.head(MAX_FAULTS).iter_rows(named=True):
            value = raw.row(row["row"] - 1, named=True)[name]
            faults.append(Fault(source, f"row {row['row']}", name, _message(name, value)))
    if faults:
        raise InputError(sorted(faults, key=_row_number)[:MAX_FAULTS])
    jobs = typed.drop("row")
    if "preemptions" not in jobs.columns:
        jobs = jobs.with_columns(preemptions=pl.lit(0, pl.Int64))
    if "run_s" not in jobs.columns:
        jobs = jobs.with_columns(run_s=pl.lit(None, pl.Float64))
    jobs = jobs.with_columns(pl.col("preemptions").fill_null(0))
    if since_s is not None:
        jobs = jobs.filter(pl.col("submit_s") >= since_s)
    return jobs


def _row_number(fault: Fault) -> int:
    return int(fault.subject.removeprefix("row "))


def _message(column: str, value: object) -> str:
    messages = {
        "team": "is empty",
        "instance_type": "is empty",
        "accelerators": f"must be a whole number of at least 0, got {value!r}",
        "submit_s": f"must be a number of seconds, got {value!r}",
        "start_s": f"must be a number of seconds, not before submit_s, got {value!r}",
        "end_s": f"must be a number of seconds, not before start_s or submit_s, got {value!r}",
    }
    return messages.get(column, f"cannot be read as {OPTIONAL_COLUMNS.get(column)}: {value!r}")


def default_window(jobs: pl.DataFrame) -> Window:
    """From the first submission to the last recorded time (start, end or submission)."""
    if jobs.is_empty():
        return Window(0.0, 0.0)
    last = jobs.select(pl.max_horizontal("submit_s", "start_s", "end_s").max()).item()
    return Window(float(jobs.get_column("submit_s").min()), float(last))  # type: ignore[arg-type]


def profile_demand(
    jobs: pl.DataFrame,
    *,
    capacity_acc: Mapping[str, int],
    nominal_acc: Mapping[tuple[str, str], int],
    percentiles: Iterable[float] = (50.0, 75.0, 95.0),
    window: Window | None = None,
    teams: Iterable[str] = (),
) -> DemandProfile:
    """Per team and instance type: demand percentiles, guaranteed, borrowed, waited, starved.

    Args:
        jobs: checked jobs (see :func:`check_jobs`).
        capacity_acc: accelerators per instance type in the cluster.
        nominal_acc: each (team, instance type)'s nominal accelerators; missing is 0.
        percentiles: demand percentiles to compute.
        window: the period to measure; by default :func:`default_window`.
        teams: teams to include even without jobs (zero demand).

    Returns:
        The profile; every team in ``jobs`` or ``teams`` gets a row for every instance type
        in ``capacity_acc`` or ``jobs``.
    """
    percentiles = tuple(sorted(set(percentiles)))
    window = window or default_window(jobs)
    w0, w1 = round(window.start_s * 1000), round(window.end_s * 1000)
    events = steps.events(jobs, (w0, w1))
    types = sorted(set(capacity_acc) | set(jobs.get_column("instance_type").unique()))
    all_teams = sorted(set(teams) | set(jobs.get_column("team").unique()))
    type_frame = pl.DataFrame({"instance_type": types}, schema={"instance_type": pl.String})
    grid = _time_grid(events, type_frame, w0, w1)
    team_combos = type_frame.join(
        pl.DataFrame({"team": all_teams}, schema={"team": pl.String}), how="cross"
    )
    nominal, capacity = _quota_frames(nominal_acc, capacity_acc, types)
    team_levels = steps.levels(events, steps.TEAM_KEYS, team_combos, grid)
    idle = _idle(team_levels, capacity)
    team_levels = (
        team_levels.join(idle.select("instance_type", "time", "idle"), on=["instance_type", "time"])
        .join(nominal, on=steps.TEAM_KEYS, how="left")
        .with_columns(pl.col("nominal_acc").fill_null(0))
    )
    class_combos = events.select(steps.CLASS_KEYS).unique()
    class_levels = (
        steps.levels(events, steps.CLASS_KEYS, class_combos, grid)
        .join(idle.select("instance_type", "time", "idle"), on=["instance_type", "time"])
        .with_columns(nominal_acc=pl.lit(0, pl.Int64))
    )
    job_rows = steps.job_rows(jobs, team_levels, nominal, (w0, w1))
    span_h = (w1 - w0) / steps.MS_PER_HOUR
    by_team = _by_team(team_combos, nominal, team_levels, job_rows, percentiles, span_h)
    by_class = _by_class(class_levels, job_rows, percentiles)
    cluster = _cluster_use(idle, span_h)
    return DemandProfile(window, percentiles, by_team, by_class, cluster, job_rows)


def _quota_frames(
    nominal_acc: Mapping[tuple[str, str], int], capacity_acc: Mapping[str, int], types: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The teams' nominal and the cluster's accelerators as frames to join on, typed even
    when empty (a policy without quotas, a cluster without a type)."""
    nominal = pl.DataFrame(
        [(t, team, acc) for (team, t), acc in nominal_acc.items()],
        schema={"instance_type": pl.String, "team": pl.String, "nominal_acc": pl.Int64},
        orient="row",
    )
    capacity = pl.DataFrame(
        {"instance_type": types, "capacity_acc": [capacity_acc.get(t, 0) for t in types]},
        schema={"instance_type": pl.String, "capacity_acc": pl.Int64},
    )
    return nominal, capacity


def _time_grid(events: pl.DataFrame, type_frame: pl.DataFrame, w0: int, w1: int) -> pl.DataFrame:
    """Per instance type, every instant a level may change within the window, its two ends
    included: the step functions are constant between consecutive instants."""
    return (
        pl.concat(
            [
                events.select("instance_type", "time"),
                type_frame.join(pl.DataFrame({"time": [w0, w1]}), how="cross"),
            ]
        )
        .filter(pl.col("time").is_between(w0, w1))
        .unique()
    )


def _idle(team_levels: pl.DataFrame, capacity: pl.DataFrame) -> pl.DataFrame:
    """Per instance type and instant: what all teams run and what is left idle; a team
    starves only while idle capacity stands beside its pending jobs."""
    return (
        team_levels.group_by("instance_type", "time")
        .agg(pl.col("running").sum().alias("running_all"), pl.col("dur").first())
        .join(capacity, on="instance_type")
        .with_columns(idle=pl.col("capacity_acc") - pl.col("running_all"))
    )


def _by_team(
    team_combos: pl.DataFrame,
    nominal: pl.DataFrame,
    team_levels: pl.DataFrame,
    job_rows: pl.DataFrame,
    percentiles: tuple[float, ...],
    span_h: float,
) -> pl.DataFrame:
    """One row per team and instance type, every pair present (zeros for a team without
    jobs), so the model sees every team the policy names."""
    return (
        team_combos.join(nominal, on=steps.TEAM_KEYS, how="left")
        .with_columns(pl.col("nominal_acc").fill_null(0))
        .join(
            steps.level_stats(team_levels, steps.TEAM_KEYS, percentiles),
            on=steps.TEAM_KEYS,
            how="left",
        )
        .join(steps.job_stats(job_rows, steps.TEAM_KEYS), on=steps.TEAM_KEYS, how="left")
        .with_columns(pl.col("jobs", "job_max", "preemptions", "jobs_guaranteed").fill_null(0))
        .with_columns(
            utilization=pl.when(pl.col("nominal_acc") > 0).then(
                pl.col("used_acc_h") / (pl.col("nominal_acc") * span_h)
            )
        )
        .sort("team", "instance_type")
    )


def _by_class(
    class_levels: pl.DataFrame, job_rows: pl.DataFrame, percentiles: tuple[float, ...]
) -> pl.DataFrame:
    """One row per team, instance type and priority class that had jobs; a class has no
    quota of its own, so the guarantee columns are dropped, and no class reads as null."""
    class_stats = steps.level_stats(class_levels, steps.CLASS_KEYS, percentiles).drop(
        "guaranteed_acc_h", "borrowed_acc_h"
    )
    return (
        class_stats.join(
            steps.job_stats(job_rows, steps.CLASS_KEYS), on=steps.CLASS_KEYS, how="left"
        )
        .drop("jobs_guaranteed", "wait_p95_guaranteed_s", "job_max")
        .with_columns(
            pl.when(pl.col("priority_class") != steps.NO_CLASS).then(pl.col("priority_class"))
        )
        .sort("team", "instance_type", "priority_class", nulls_last=False)
    )


def _cluster_use(idle: pl.DataFrame, span_h: float) -> pl.DataFrame:
    """One row per instance type: capacity, accelerator-hours used and utilization."""
    return (
        idle.group_by("instance_type", "capacity_acc")
        .agg(used_acc_h=(pl.col("running_all") * pl.col("dur")).sum())
        .with_columns(steps.per(pl.col("used_acc_h"), steps.MS_PER_HOUR))
        .with_columns(
            utilization=pl.when(pl.col("capacity_acc") > 0).then(
                pl.col("used_acc_h") / (pl.col("capacity_acc") * span_h)
            )
        )
        .sort("instance_type")
    )
