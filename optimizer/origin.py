"""The cluster as it stands at an instant: the jobs running and pending there.

A recommendation takes effect on a cluster that is not empty: jobs admitted under today's
policy still hold their accelerators, and queued ones wait. Where jobs run for months (the
Alibaba openb pods), those decide what any new policy can do in its first weeks, so every
replay the recommender makes starts from them: the running jobs admitted at the instant (the
twin's pre-admitted Workloads, ``elapsed_s`` set), then the pending ones in their order.

How long a running job will still run is not in the record (it has not ended), so the
recommender estimates it from the history it has: the median run time of its team's
finished jobs that ran longer than this one has so far, minus what it has run (the whole
trace's such jobs when the team has none; as long again as it has run when no finished job
ran that long). A pending job runs for its team's median. The estimate is the recommender's
only view of them; the forward evaluation replays the truth (``optimizer.evaluate``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from optimizer.evaluate.policies import team_values
from optimizer.replay import ELAPSED_COLUMN, WORKLOAD_COLUMNS, workloads_from_history
from taskgov.catalog import instance_catalog
from taskgov.policy.model import Policy

# Run time assumed when no job of the history finished (an hour).
DEFAULT_RUN_S = 3600.0


def record_end(history: pl.DataFrame) -> float:
    """The instant a record ends at: its latest submission, start or end."""
    latest = history.select(pl.max_horizontal(pl.col("submit_s", "start_s", "end_s").max()))
    return float(latest.item() or 0.0)


def running_at(history: pl.DataFrame, now_s: float) -> pl.DataFrame:
    """Jobs started by ``now_s`` and not ended then (as recorded: ``end_s`` null or later)."""
    return history.filter(
        pl.col("start_s").is_not_null()
        & (pl.col("start_s") <= now_s)
        & (pl.col("end_s").is_null() | (pl.col("end_s") > now_s))
    )


def pending_at(history: pl.DataFrame, now_s: float) -> pl.DataFrame:
    """Jobs submitted by ``now_s`` and not started then."""
    return history.filter(
        (pl.col("submit_s") <= now_s)
        & (pl.col("start_s").is_null() | (pl.col("start_s") > now_s))
        & (pl.col("end_s").is_null() | (pl.col("end_s") > now_s))
    )


@dataclass(frozen=True, slots=True)
class RunEstimate:
    """Run times of the finished jobs of a history, per team and in all, to estimate from."""

    by_team: Mapping[str, Sequence[float]]
    everyone: Sequence[float]

    def remaining_s(self, team: str, elapsed_s: float) -> float:
        """The median run of the finished jobs that ran longer than ``elapsed_s``, minus it:
        the team's, else everyone's, else as long again as it has run."""
        for runs in (self.by_team.get(team, ()), self.everyone):
            longer = sorted(r for r in runs if r > elapsed_s)
            if longer:
                return longer[(len(longer) - 1) // 2] - elapsed_s
        return max(elapsed_s, 1.0)

    def whole_s(self, team: str) -> float:
        """The median run of the team's finished jobs, else everyone's, else an hour."""
        for runs in (self.by_team.get(team, ()), self.everyone):
            if runs:
                return sorted(runs)[(len(runs) - 1) // 2]
        return DEFAULT_RUN_S


def run_estimate(history: pl.DataFrame, now_s: float) -> RunEstimate:
    """The run times of the jobs of ``history`` finished by ``now_s``."""
    finished = workloads_from_history(history.filter(pl.col("end_s") <= now_s))
    by_team: dict[str, list[float]] = {}
    for team, run_s in finished.select("team", "run_s").iter_rows():
        by_team.setdefault(team, []).append(run_s)
    return RunEstimate(by_team, [r for runs in by_team.values() for r in runs])


def estimated_runs(jobs: pl.DataFrame, estimate: RunEstimate, now_s: float) -> pl.DataFrame:
    """Every job of ``jobs`` as a workload with its whole run: as recorded when it ended,
    else what it has run plus :meth:`RunEstimate.remaining_s`, else (never started)
    :meth:`RunEstimate.whole_s`."""
    known = workloads_from_history(jobs)
    rows = []
    unfinished = jobs.filter(pl.col("end_s").is_null() & pl.col("run_s").is_null())
    for row in unfinished.iter_rows(named=True):
        if row["start_s"] is None:
            run = estimate.whole_s(row["team"])
        else:
            elapsed = now_s - row["start_s"]
            run = elapsed + estimate.remaining_s(row["team"], elapsed)
        rows.append({**row, "run_s": run})
    unknown = pl.DataFrame(rows, schema=known.schema, orient="row") if rows else known.clear()
    return pl.concat([known, unknown.select(known.columns)]).sort("submit_s", maintain_order=True)


def estimated_state(history: pl.DataFrame, now_s: float) -> pl.DataFrame:
    """The jobs running and pending at ``now_s`` as workloads submitted then, their run times
    estimated from the finished jobs of ``history`` (see the module docstring).

    Returns:
        :data:`optimizer.replay.WORKLOAD_COLUMNS` plus ``elapsed_s`` (the run so far of a
        running job; null for a pending one), running jobs first, then pending ones in the
        order they were submitted.
    """
    estimate = run_estimate(history, now_s)
    rows = []
    for row in running_at(history, now_s).sort("start_s").iter_rows(named=True):
        elapsed = now_s - row["start_s"]
        remaining = estimate.remaining_s(row["team"], elapsed)
        rows.append({**row, "run_s": remaining, ELAPSED_COLUMN: elapsed})
    for row in pending_at(history, now_s).sort("submit_s").iter_rows(named=True):
        rows.append({**row, "run_s": estimate.whole_s(row["team"]), ELAPSED_COLUMN: None})
    return state_frame(rows, now_s)


def held_at(history: pl.DataFrame, now_s: float, policy: Policy) -> dict[str, dict[str, int]]:
    """Per team and instance type: the instances its jobs running at ``now_s`` fill, up to
    today's count. A policy that gives a team less lets the others reclaim them, and
    preempting a job that has run for weeks throws the weeks away."""
    catalog, today = instance_catalog(), team_values(policy)
    running = (
        running_at(history, now_s)
        .group_by("team", "instance_type")
        .agg(pl.col("accelerators").sum())
    )
    held: dict[str, dict[str, int]] = {}
    for team, instance_type, acc in running.sort("team", "instance_type").iter_rows():
        count = today[team].nominal.get(instance_type, 0) if team in today else 0
        per = catalog[instance_type].accelerator_count if instance_type in catalog else 1
        keep = min(count, -(-int(acc) // per))
        if keep > 0:
            held.setdefault(team, {})[instance_type] = keep
    return held


def state_frame(rows: list[dict[str, object]], now_s: float) -> pl.DataFrame:
    """Rows of jobs at ``now_s`` (``run_s``: what is left to run; ``elapsed_s``) as workloads
    submitted at ``now_s``, in the rows' order."""
    schema: dict[str, type[pl.DataType]] = {**WORKLOAD_COLUMNS, ELAPSED_COLUMN: pl.Float64}
    frame = pl.DataFrame(
        [{name: row.get(name) for name in schema} for row in rows], schema=schema, orient="row"
    )
    return frame.with_columns(submit_s=pl.lit(now_s, dtype=pl.Float64))
