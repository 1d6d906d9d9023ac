"""Step functions of time over recorded jobs, integrated exactly in polars.

Times are integer milliseconds; amounts integer accelerators; integrals are accelerator-
milliseconds, summed as integers and turned into hours only at the end (see :func:`per`).
Used by :mod:`optimizer.demand`, whose docstring defines every quantity.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

MS_PER_HOUR = 3_600_000
NO_CLASS = ""
TEAM_KEYS = ["instance_type", "team"]
CLASS_KEYS = ["instance_type", "team", "priority_class"]
DELTAS = ("d_demand", "d_running", "d_offered")


def percentile_column(p: float) -> str:
    """``demand_p75`` for 75, ``demand_p99.9`` for 99.9."""
    return f"demand_p{p:g}"


def offered_column(p: float) -> str:
    """``offered_p75`` for 75: the percentile of the offered load."""
    return f"offered_p{p:g}"


def per(amount: pl.Expr, divisor: int) -> pl.Expr:
    """``amount / divisor``, exact whenever the quotient is a whole number.

    Polars divides by a scalar through its reciprocal, so 14_400_000 / 3_600_000 comes out
    as 3.9999999999999996; splitting off the whole part keeps such results exact.
    """
    return amount // divisor + (amount % divisor) / divisor


def ms(column: str) -> pl.Expr:
    return (pl.col(column) * 1000).round().cast(pl.Int64)


def events(jobs: pl.DataFrame, window_ms: tuple[int, int]) -> pl.DataFrame:
    """+/- accelerators of demand, running and offered load at each job's clipped times."""
    w0, w1 = window_ms
    # A job's run time: run_s if recorded, else end - start; unknown for a job that never ran.
    run = ms("run_s").fill_null(ms("end_s") - ms("start_s"))
    clipped = jobs.select(
        "instance_type",
        "team",
        pl.col("priority_class").fill_null(NO_CLASS),
        pl.col("accelerators").alias("acc"),
        ms("submit_s").clip(w0, w1).alias("submit"),
        ms("start_s").clip(w0, w1).alias("start"),
        ms("end_s").fill_null(w1).clip(w0, w1).alias("end"),
        (ms("submit_s") + run).fill_null(w1).clip(w0, w1).alias("offered_end"),
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


def levels(
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


def level_stats(
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


def job_stats(jobs: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
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


def job_rows(
    jobs: pl.DataFrame, team_levels: pl.DataFrame, nominal: pl.DataFrame, window_ms: tuple[int, int]
) -> pl.DataFrame:
    """Each job in the window with its wait and whether it was within its team's guarantee."""
    w0, w1 = window_ms
    inside = jobs.with_columns(submit=ms("submit_s")).filter(pl.col("submit").is_between(w0, w1))
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
    started = pl.coalesce(ms("start_s"), pl.lit(w1))
    return at_submit.select(
        "instance_type",
        "team",
        pl.col("priority_class").fill_null(NO_CLASS),
        "preemptions",
        "accelerators",
        wait_s=per((started - pl.col("submit")).clip(lower_bound=0), 1000),
        guaranteed=pl.col("demand") <= pl.col("nominal_acc").fill_null(0),
    )
