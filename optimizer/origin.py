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

import polars as pl

from optimizer.replay import ELAPSED_COLUMN, WORKLOAD_COLUMNS, workloads_from_history

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


def _remaining_s(elapsed_s: float, own: list[float], everyone: list[float]) -> float:
    """The median run of the finished jobs that ran longer than ``elapsed_s``, minus it."""
    for runs in (own, everyone):
        longer = sorted(r for r in runs if r > elapsed_s)
        if longer:
            return longer[(len(longer) - 1) // 2] - elapsed_s
    return max(elapsed_s, 1.0)


def _median(runs: list[float], default: float) -> float:
    ordered = sorted(runs)
    return ordered[(len(ordered) - 1) // 2] if ordered else default


def estimated_state(history: pl.DataFrame, now_s: float) -> pl.DataFrame:
    """The jobs running and pending at ``now_s`` as workloads submitted then, their run times
    estimated from the finished jobs of ``history`` (see the module docstring).

    Returns:
        :data:`optimizer.replay.WORKLOAD_COLUMNS` plus ``elapsed_s`` (the run so far of a
        running job; null for a pending one), running jobs first, then pending ones in the
        order they were submitted.
    """
    finished = workloads_from_history(history.filter(pl.col("end_s") <= now_s))
    by_team: dict[str, list[float]] = {}
    for team, run_s in finished.select("team", "run_s").iter_rows():
        by_team.setdefault(team, []).append(run_s)
    everyone = [r for runs in by_team.values() for r in runs]
    overall = _median(everyone, DEFAULT_RUN_S)
    rows = []
    for row in running_at(history, now_s).sort("start_s").iter_rows(named=True):
        elapsed = now_s - row["start_s"]
        remaining = _remaining_s(elapsed, by_team.get(row["team"], []), everyone)
        rows.append({**row, "run_s": remaining, ELAPSED_COLUMN: elapsed})
    for row in pending_at(history, now_s).sort("submit_s").iter_rows(named=True):
        run_s = _median(by_team.get(row["team"], []), overall)
        rows.append({**row, "run_s": run_s, ELAPSED_COLUMN: None})
    return state_frame(rows, now_s)


def state_frame(rows: list[dict[str, object]], now_s: float) -> pl.DataFrame:
    """Rows of jobs at ``now_s`` (``run_s``: what is left to run; ``elapsed_s``) as workloads
    submitted at ``now_s``, in the rows' order."""
    schema: dict[str, type[pl.DataType]] = {**WORKLOAD_COLUMNS, ELAPSED_COLUMN: pl.Float64}
    frame = pl.DataFrame(
        [{name: row.get(name) for name in schema} for row in rows], schema=schema, orient="row"
    )
    return frame.with_columns(submit_s=pl.lit(now_s, dtype=pl.Float64))
