"""Futures drawn from recorded jobs: a held-out tail, and block bootstraps of it by day.

A recommendation is judged on weeks it has not seen. The recommender therefore fits its
candidates on the history minus its last days (the *hold-out*), chooses among them by
replaying the hold-out as it was and the hold-out under a surge (a resampled future on top
of it: twice the load, which tells apart policies an uncontended week cannot), and reports
the chosen one's effect on futures resampled from the hold-out: whole days (a block keeps a
day's bursts and lulls together) drawn with replacement and laid end to end. The solver
never sees the hold-out; the choice does (so the report is out of sample for the solver,
and resampled, not replayed as chosen on).

Each future also carries, per team, one job of the largest size the team may plausibly
submit (a setting), at a random time of the future with the team's median run time: a
team whose history never showed a job that large must still be able to run one.

Every future starts at the record's end from the cluster as it stands there (the jobs
running and pending, ``optimizer.origin``): a new policy meets those first. A future may be
capped at a number of jobs (its first ones; the horizon shortens), which bounds a replay's
cost whatever the history's density.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

import polars as pl

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Futures:
    """Resampled futures: ``choose`` to pick a candidate, ``report`` to print its effect,
    ``screen`` (the surge's first jobs) to leave out the clearly worse candidates first."""

    choose: tuple[pl.DataFrame, ...]
    report: tuple[pl.DataFrame, ...]
    screen: tuple[pl.DataFrame, ...] = ()


def split_holdout(workloads: pl.DataFrame, holdout_s: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(fit, hold-out): jobs submitted before the last ``holdout_s`` seconds, and the rest.

    With less than twice ``holdout_s`` of history, the hold-out is the last half.
    """
    if workloads.is_empty():
        return workloads, workloads
    first, last = workloads["submit_s"].min(), workloads["submit_s"].max()
    assert isinstance(first, float) and isinstance(last, float)
    cut = last - min(holdout_s, (last - first) / 2)
    return workloads.filter(pl.col("submit_s") < cut), workloads.filter(pl.col("submit_s") >= cut)


def _days(workloads: pl.DataFrame) -> list[pl.DataFrame]:
    """The jobs of each whole day from the first submission, each shifted to start at 0."""
    if workloads.is_empty():
        return []
    start = workloads["submit_s"].min()
    assert isinstance(start, float)
    day = ((pl.col("submit_s") - start) / DAY_S).floor().cast(pl.Int64)
    indexed = workloads.with_columns(day=day)
    count = int(indexed["day"].max() or 0) + 1  # type: ignore[arg-type]
    return [
        indexed.filter(pl.col("day") == n)
        .with_columns(submit_s=pl.col("submit_s") - start - n * DAY_S)
        .drop("day")
        for n in range(count)
    ]


def _future(days: list[pl.DataFrame], length: int, rng: random.Random) -> pl.DataFrame:
    """``length`` days drawn with replacement from ``days``, laid end to end."""
    picked = [rng.randrange(len(days)) for _ in range(length)]
    return pl.concat(
        [
            days[n].with_columns(submit_s=pl.col("submit_s") + k * DAY_S)
            for k, n in enumerate(picked)
        ]
    )


def largest_jobs(
    workloads: pl.DataFrame, future: pl.DataFrame, largest_acc: int, rng: random.Random
) -> pl.DataFrame:
    """One job per team of ``largest_acc`` accelerators at a random time of ``future``.

    Its run time is the team's median (the whole trace's for a team without one); its
    instance type the team's most used.
    """
    if workloads.is_empty() or largest_acc <= 0:
        return future.clear()
    span = max(DAY_S, float(future["submit_s"].max() or 0.0))  # type: ignore[arg-type]
    overall = float(workloads["run_s"].median() or 3600.0)  # type: ignore[arg-type]
    rows = []
    per_team = workloads.group_by("team").agg(
        pl.col("run_s").median(), pl.col("instance_type").mode().first()
    )
    for team, run_s, instance_type in per_team.sort("team").iter_rows():
        when = math.floor(rng.random() * span)
        rows.append((team, instance_type, largest_acc, float(when), run_s or overall, None))
    return pl.DataFrame(rows, schema=future.schema, orient="row")


@dataclass(frozen=True, slots=True)
class Start:
    """Where every future starts: the instant and the jobs there (``optimizer.origin``)."""

    at_s: float
    state: pl.DataFrame
    max_jobs: int | None = None

    def place(self, future: pl.DataFrame) -> pl.DataFrame:
        """``future`` (from 0) capped at ``max_jobs``, moved to start at ``at_s``, after the
        jobs of the state (they keep the first rows: the twin admits them first)."""
        ordered = future.sort("submit_s", maintain_order=True)
        if self.max_jobs is not None:
            ordered = ordered.head(max(0, self.max_jobs - self.state.height))
        moved = ordered.with_columns(submit_s=pl.col("submit_s") + self.at_s)
        return pl.concat([self.state, moved], how="diagonal_relaxed")


def futures(
    holdout: pl.DataFrame,
    start: Start,
    *,
    count: int,
    length_days: int,
    largest_acc: int,
    seed: int,
    screen_jobs: int | None = None,
) -> Futures:
    """To choose with: the hold-out as it was, and under a surge; to report with: ``count``
    futures resampled from its days; each placed after ``start`` (see the module docstring)."""
    days = _days(holdout)
    if not days:
        alone = () if start.state.is_empty() else (start.place(start.state.clear()),)
        return Futures(alone, alone)
    rng = random.Random(seed)  # noqa: S311 - resampling, not secrets
    as_was = holdout.with_columns(pl.col("submit_s") - pl.col("submit_s").min())
    as_was = pl.concat([as_was, largest_jobs(holdout, as_was, largest_acc, rng)])
    surge = pl.concat([as_was, _future(days, max(1, length_days), rng)])
    report = []
    for _ in range(count):
        future = _future(days, max(1, length_days), rng)
        report.append(pl.concat([future, largest_jobs(holdout, future, largest_acc, rng)]))
    screen = () if screen_jobs is None else (replace(start, max_jobs=screen_jobs).place(surge),)
    return Futures(
        (start.place(as_was), start.place(surge)), tuple(start.place(f) for f in report), screen
    )
