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
MS_PER_HOUR = 3_600_000
MAX_FAULTS = 20
NO_CLASS = ""
TEAM_KEYS = ["instance_type", "team"]
DELTAS = ("d_demand", "d_running", "d_offered")
CLASS_KEYS = ["instance_type", "team", "priority_class"]


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


def percentile_column(p: float) -> str:
    """``demand_p75`` for 75, ``demand_p99.9`` for 99.9."""
    return f"demand_p{p:g}"


def offered_column(p: float) -> str:
    """``offered_p75`` for 75: the percentile of the offered load."""
    return f"offered_p{p:g}"


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


def per(amount: pl.Expr, divisor: int) -> pl.Expr:
    """``amount / divisor``, exact whenever the quotient is a whole number.

    Polars divides by a scalar through its reciprocal, so 14_400_000 / 3_600_000 comes out
    as 3.9999999999999996; splitting off the whole part keeps such results exact.
    """
    return amount // divisor + (amount % divisor) / divisor


def _ms(column: str) -> pl.Expr:
    return (pl.col(column) * 1000).round().cast(pl.Int64)


def _events(jobs: pl.DataFrame, window_ms: tuple[int, int]) -> pl.DataFrame:
    """+/- accelerators of demand, running and offered load at each job's clipped times."""
    w0, w1 = window_ms
    # A job's run time: run_s if recorded, else end - start; unknown for a job that never ran.
    run = _ms("run_s").fill_null(_ms("end_s") - _ms("start_s"))
    clipped = jobs.select(
        "instance_type",
        "team",
        pl.col("priority_class").fill_null(NO_CLASS),
        pl.col("accelerators").alias("acc"),
        _ms("submit_s").clip(w0, w1).alias("submit"),
        _ms("start_s").clip(w0, w1).alias("start"),
        _ms("end_s").fill_null(w1).clip(w0, w1).alias("end"),
        (_ms("submit_s") + run).fill_null(w1).clip(w0, w1).alias("offered_end"),
    )
    keys = CLASS_KEYS
    zero = pl.lit(0, pl.Int64)
    minus = -pl.col("acc")
    started = clipped.filter(pl.col("start").is_not_null())
    parts = [
        clipped.select(*keys, time="submit", d_demand="acc", d_running=zero, d_offered="acc"),
        clipped.select(*keys, time="end", d_demand=minus, d_running=zero, d_offered=zero),
        clipped.select(*keys, time="offered_end", d_demand=zero, d_running=zero, d_offered=minus),
        started.select(*keys, time="start", d_demand=zero, d_running="acc", d_offered=zero),
        started.select(*keys, time="end", d_demand=zero, d_running=minus, d_offered=zero),
    ]
    return pl.concat(parts)


def _levels(
    events: pl.DataFrame, keys: list[str], combos: pl.DataFrame, grid: pl.DataFrame
) -> pl.DataFrame:
    """demand, running, offered load and how long each level holds, per key and grid time."""
    deltas = events.group_by([*keys, "time"]).agg(pl.col(*DELTAS).sum())
    return (
        combos.join(grid, on="instance_type")
        .join(deltas, on=[*keys, "time"], how="left")
        .with_columns(pl.col(*DELTAS).fill_null(0))
        .sort([*keys, "time"])
        .with_columns(
            demand=pl.col("d_demand").cum_sum().over(keys),
            running=pl.col("d_running").cum_sum().over(keys),
            offered=pl.col("d_offered").cum_sum().over(keys),
            dur=(pl.col("time").shift(-1).over(keys) - pl.col("time")).fill_null(0),
        )
        .with_columns(pending=pl.col("demand") - pl.col("running"))
        .drop(*DELTAS)
    )


def _weighted_percentile(value: str, p: float) -> pl.Expr:
    """The least level held, with lower ones, for at least p% of the summed durations."""
    level, dur = pl.col(value).sort_by(value), pl.col("dur").sort_by(value)
    return level.filter(dur.cum_sum() * 100 >= dur.sum() * p).first()


def rank_percentile(values: pl.Expr, p: float) -> pl.Expr:
    """Nearest-rank percentile: the ceil(p/100 * n)-th smallest value; null when empty."""
    # The least rank r with 100 r >= p n, without dividing (see ``per``).
    return values.filter(values.rank("ordinal") * 100 >= values.len() * p).min()


def _level_stats(
    levels: pl.DataFrame, keys: list[str], percentiles: Iterable[float]
) -> pl.DataFrame:
    # Integrate in accelerator-milliseconds (integers, exact), then convert to hours in a
    # separate step: inside one aggregation polars may scale each term before summing.
    dur = pl.col("dur")
    starving = pl.min_horizontal("pending", pl.col("idle").clip(lower_bound=0))
    integrals = {
        "used_acc_h": pl.col("running"),
        "guaranteed_acc_h": pl.min_horizontal("running", "nominal_acc"),
        "borrowed_acc_h": (pl.col("running") - pl.col("nominal_acc")).clip(lower_bound=0),
        "waited_acc_h": pl.col("pending"),
        "starved_h": (starving > 0).cast(pl.Int64),
        "starved_acc_h": starving,
    }
    stats = levels.group_by(keys).agg(
        demand_mean=(pl.col("demand") * dur).sum() / dur.sum(),
        **{percentile_column(p): _weighted_percentile("demand", p) for p in percentiles},
        demand_max=pl.col("demand").max(),
        **{offered_column(p): _weighted_percentile("offered", p) for p in percentiles},
        offered_max=pl.col("offered").max(),
        **{name: (amount * dur).sum() for name, amount in integrals.items()},
    )
    return stats.with_columns(per(pl.col(name), MS_PER_HOUR) for name in integrals)


def _job_stats(jobs: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    wait = pl.col("wait_s")
    within = wait.filter(pl.col("guaranteed"))
    return jobs.group_by(keys).agg(
        jobs=pl.len(),
        job_max=pl.col("accelerators").max(),
        preemptions=pl.col("preemptions").sum(),
        wait_p50_s=rank_percentile(wait, 50),
        wait_p95_s=rank_percentile(wait, 95),
        jobs_guaranteed=pl.col("guaranteed").sum(),
        wait_p95_guaranteed_s=rank_percentile(within, 95),
    )


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
    events = _events(jobs, (w0, w1))
    types = sorted(set(capacity_acc) | set(jobs.get_column("instance_type").unique()))
    all_teams = sorted(set(teams) | set(jobs.get_column("team").unique()))
    type_frame = pl.DataFrame({"instance_type": types}, schema={"instance_type": pl.String})
    grid = (
        pl.concat(
            [
                events.select("instance_type", "time"),
                type_frame.join(pl.DataFrame({"time": [w0, w1]}), how="cross"),
            ]
        )
        .filter(pl.col("time").is_between(w0, w1))
        .unique()
    )
    team_combos = type_frame.join(
        pl.DataFrame({"team": all_teams}, schema={"team": pl.String}), how="cross"
    )
    nominal = pl.DataFrame(
        [(t, team, acc) for (team, t), acc in nominal_acc.items()],
        schema={"instance_type": pl.String, "team": pl.String, "nominal_acc": pl.Int64},
        orient="row",
    )
    capacity = pl.DataFrame(
        {"instance_type": types, "capacity_acc": [capacity_acc.get(t, 0) for t in types]},
        schema={"instance_type": pl.String, "capacity_acc": pl.Int64},
    )
    team_levels = _levels(events, TEAM_KEYS, team_combos, grid)
    idle = (
        team_levels.group_by("instance_type", "time")
        .agg(pl.col("running").sum().alias("running_all"), pl.col("dur").first())
        .join(capacity, on="instance_type")
        .with_columns(idle=pl.col("capacity_acc") - pl.col("running_all"))
    )
    team_levels = (
        team_levels.join(idle.select("instance_type", "time", "idle"), on=["instance_type", "time"])
        .join(nominal, on=TEAM_KEYS, how="left")
        .with_columns(pl.col("nominal_acc").fill_null(0))
    )
    class_combos = events.select(CLASS_KEYS).unique()
    class_levels = (
        _levels(events, CLASS_KEYS, class_combos, grid)
        .join(idle.select("instance_type", "time", "idle"), on=["instance_type", "time"])
        .with_columns(nominal_acc=pl.lit(0, pl.Int64))
    )
    job_rows = _job_rows(jobs, team_levels, nominal, (w0, w1))
    span_h = (w1 - w0) / MS_PER_HOUR
    by_team = (
        team_combos.join(nominal, on=TEAM_KEYS, how="left")
        .with_columns(pl.col("nominal_acc").fill_null(0))
        .join(_level_stats(team_levels, TEAM_KEYS, percentiles), on=TEAM_KEYS, how="left")
        .join(_job_stats(job_rows, TEAM_KEYS), on=TEAM_KEYS, how="left")
        .with_columns(pl.col("jobs", "job_max", "preemptions", "jobs_guaranteed").fill_null(0))
        .with_columns(
            utilization=pl.when(pl.col("nominal_acc") > 0).then(
                pl.col("used_acc_h") / (pl.col("nominal_acc") * span_h)
            )
        )
        .sort("team", "instance_type")
    )
    class_stats = _level_stats(class_levels, CLASS_KEYS, percentiles).drop(
        "guaranteed_acc_h", "borrowed_acc_h"
    )
    by_class = (
        class_stats.join(_job_stats(job_rows, CLASS_KEYS), on=CLASS_KEYS, how="left")
        .drop("jobs_guaranteed", "wait_p95_guaranteed_s", "job_max")
        .with_columns(pl.when(pl.col("priority_class") != NO_CLASS).then(pl.col("priority_class")))
        .sort("team", "instance_type", "priority_class", nulls_last=False)
    )
    cluster = (
        idle.group_by("instance_type", "capacity_acc")
        .agg(used_acc_h=(pl.col("running_all") * pl.col("dur")).sum())
        .with_columns(per(pl.col("used_acc_h"), MS_PER_HOUR))
        .with_columns(
            utilization=pl.when(pl.col("capacity_acc") > 0).then(
                pl.col("used_acc_h") / (pl.col("capacity_acc") * span_h)
            )
        )
        .sort("instance_type")
    )
    return DemandProfile(window, percentiles, by_team, by_class, cluster, job_rows)


def _job_rows(
    jobs: pl.DataFrame, team_levels: pl.DataFrame, nominal: pl.DataFrame, window_ms: tuple[int, int]
) -> pl.DataFrame:
    """Each job in the window with its wait and whether it was within its team's guarantee."""
    w0, w1 = window_ms
    inside = jobs.with_columns(submit=_ms("submit_s")).filter(pl.col("submit").is_between(w0, w1))
    at_submit = (
        inside.sort("submit")
        .join_asof(
            team_levels.select(*TEAM_KEYS, "time", "demand").sort("time"),
            left_on="submit",
            right_on="time",
            by=TEAM_KEYS,
            strategy="backward",
            check_sortedness=False,  # sorted by time; polars cannot check it per group
        )
        .join(nominal, on=TEAM_KEYS, how="left")
    )
    started = pl.coalesce(_ms("start_s"), pl.lit(w1))
    return at_submit.select(
        "instance_type",
        "team",
        pl.col("priority_class").fill_null(NO_CLASS),
        "preemptions",
        "accelerators",
        wait_s=per((started - pl.col("submit")).clip(lower_bound=0), 1000),
        guaranteed=pl.col("demand") <= pl.col("nominal_acc").fill_null(0),
    )
