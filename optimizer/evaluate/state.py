"""The cluster at a forward window's origin, as it stands and as the recommender sees it.

A real cluster does not start empty at the origin: the jobs admitted under today's policy
still hold their accelerators (on the Alibaba openb trace, for months) and queued ones wait.
The evaluation's future therefore starts from them, and so does every policy replayed over
it. Which jobs they are comes from replaying, under today's policy, the jobs that would
still run at the origin had each started at its submission: a bounded replay (the whole
history at a quarter of the capacity would cost more than the evaluation). It misses jobs
that would have been delayed past the origin only by a queue of jobs that had ended by then.

The future knows how long each of them still runs. The recommender must not: it is handed
the history as recorded at the origin (a running job: its start, no end, no run time; a
pending one: no start), and estimates (``optimizer.origin``).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from optimizer.origin import state_frame
from optimizer.replay import replay
from taskgov.policy.model import Cluster, Policy


@dataclass(frozen=True, slots=True)
class OriginState:
    """The cluster at the origin.

    Attributes:
        state: the jobs running (``elapsed_s`` set, ``run_s`` what they still run) and
            pending there (``run_s`` their whole run), as workloads submitted at the origin.
        recorded: the history as recorded at the origin (:data:`optimizer.demand.JOB_COLUMNS`
            and ``run_s``, null where not known yet).
    """

    state: pl.DataFrame
    recorded: pl.DataFrame


def origin_state(
    history: pl.DataFrame, origin_s: float, today: Policy, cluster: Cluster
) -> OriginState:
    """The jobs of ``history`` (submitted before ``origin_s``) at the origin, under ``today``.

    Args:
        history: workloads (:data:`optimizer.replay.WORKLOAD_COLUMNS`) submitted before the
            origin.
        origin_s: the origin.
        today: the policy the cluster ran until the origin.
        cluster: the cluster.
    """
    ends = pl.col("submit_s") + pl.col("run_s")
    alive = history.filter(ends > origin_s).sort("submit_s")
    done = history.filter(ends <= origin_s).with_columns(start_s=pl.col("submit_s"), end_s=ends)
    played = replay(alive, today, cluster, name="origin").history
    running = played.filter(pl.col("start_s") <= origin_s)
    pending = played.filter(pl.col("start_s").is_null() | (pl.col("start_s") > origin_s))
    rows = [
        {**row, "run_s": row["start_s"] + row["run_s"] - origin_s, "elapsed_s": origin_s - start}
        for row in running.sort("start_s").iter_rows(named=True)
        if (start := row["start_s"]) is not None
    ]
    rows += [{**row, "elapsed_s": None} for row in pending.iter_rows(named=True)]
    unknown = pl.lit(None, dtype=pl.Float64)
    recorded = pl.concat(
        [
            done.select(*done.columns),
            running.with_columns(end_s=unknown, run_s=unknown).select(done.columns),
            pending.with_columns(start_s=unknown, end_s=unknown, run_s=unknown).select(
                done.columns
            ),
        ]
    )
    return OriginState(state_frame(rows, origin_s), recorded.sort("submit_s"))
