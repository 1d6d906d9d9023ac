"""Forward evaluation: recommend from the past, replay every policy over the next window.

Rolling origins: the trace's span is cut into ``origins + 1`` equal windows; at the start of
each window after the first (the *origin*), the history is every job submitted before it and
the future the jobs submitted in the window. At each origin, capacity and FairShare setting,
the recommender sees only the history; today's policy, every baseline
(``optimizer.evaluate.baselines``) and the recommendation (named ``recommended``) are then
replayed on the twin over the same future jobs and measured over one shared window
(``optimizer.evaluate.metrics``).

The history the recommender reads is the jobs as asked (each running from its submission for
its run time) rather than a replay of them under today's policy: the recommender reads the
offered load, which is the same either way, and replaying months of history at a quarter of
the capacity would cost more than the whole evaluation. The exception is the jobs still
there at the origin: the future starts from them, as the real cluster would, and every
policy is replayed on them and the future's jobs alike; the recommender sees them as
recorded at the origin, without their end (``optimizer.evaluate.state``). The baselines
split by the same record (a running job's run so far).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from optimizer.candidates import observed_runs
from optimizer.demand import FrameDemandSource
from optimizer.evaluate.baselines import baseline_policies
from optimizer.evaluate.metrics import PolicyMetrics, against_today
from optimizer.evaluate.policies import scaled_cluster, scaled_policy, team_values, with_values
from optimizer.evaluate.state import origin_state
from optimizer.recommend import recommend
from optimizer.resample import DAY_S
from optimizer.robust import Replayer, replay_all, twin_replay
from optimizer.settings import OptimizerSettings
from taskgov.policy.model import Cluster, Policy

RECOMMENDED = "recommended"
TODAY = "today"


@dataclass(frozen=True, slots=True)
class Run:
    """Every policy over one future window at one capacity and FairShare setting."""

    trace: str
    origin_s: float
    end_s: float
    capacity_instances: int
    fair_share: bool
    chosen: str
    policies: dict[str, PolicyMetrics]


def origins(
    workloads: pl.DataFrame, count: int, window_s: float | None = None
) -> list[tuple[float, float]]:
    """(origin, end) of each future window: origins cut the span into ``count + 1`` equal
    parts; each future runs to the next origin, or for ``window_s`` when given (shorter
    futures replay faster on a contended cluster)."""
    first, last = workloads["submit_s"].min(), workloads["submit_s"].max()
    assert isinstance(first, float) and isinstance(last, float)
    width = (last - first) / (count + 1)
    length = width if window_s is None else min(width, window_s)
    return [(first + k * width, first + k * width + length) for k in range(1, count + 1)]


def _recommended(
    recorded: pl.DataFrame,
    origin_s: float,
    today: Policy,
    cluster: Cluster,
    settings: OptimizerSettings,
) -> tuple[str, Policy]:
    source = FrameDemandSource(recorded)
    rec = recommend(source, today, cluster, settings, now_s=origin_s)
    if rec.proposed is None:
        return f"no solution ({rec.report.status})", today
    return rec.choice.chosen if rec.choice else "cp-sat", rec.proposed


def run_window(
    trace: str,
    workloads: pl.DataFrame,
    window: tuple[float, float],
    today: Policy,
    cluster: Cluster,
    settings: OptimizerSettings,
    replayer: Replayer = twin_replay,
) -> Run:
    """Recommend from before ``window``, then replay every policy over it (by ``replayer``:
    the baselines' replays do not depend on the recommender, so a bench may reuse them)."""
    origin, end = window
    history = workloads.filter(pl.col("submit_s") < origin)
    future = workloads.filter(pl.col("submit_s").is_between(origin, end, closed="left"))
    fair_share = today.scheduler_config.fair_share == "Enabled"
    today = with_values(today, team_values(today), name=TODAY, fair_share=fair_share)
    at_origin = origin_state(history, origin, today, cluster)
    observed = observed_runs(at_origin.recorded, origin)
    policies = baseline_policies(observed, today, cluster, fair_share=fair_share)
    # The recommender checks its candidates on a stretch of history as long as the future
    # it will be judged on: the horizon the admin means to keep the policy for.
    horizon_days = (end - origin) / DAY_S
    forward = settings.forward.model_copy(
        update={"holdout_days": horizon_days, "future_days": max(1, round(horizon_days))}
    )
    settings = settings.model_copy(update={"forward": forward})
    chosen, proposal = _recommended(at_origin.recorded, origin, today, cluster, settings)
    policies[RECOMMENDED] = proposal
    measured = replay_all(
        pl.concat([at_origin.state, future], how="diagonal_relaxed"), policies, cluster, replayer
    )
    base = measured[TODAY]
    return Run(
        trace,
        origin,
        end,
        sum(cluster.instance_counts().values()),
        fair_share,
        chosen,
        {name: against_today(m, base) for name, m in measured.items()},
    )


def evaluate(
    trace: str,
    workloads: pl.DataFrame,
    policy: Policy,
    cluster: Cluster,
    settings: OptimizerSettings,
    *,
    capacities: Sequence[float] = (1.0, 0.5, 0.25),
    origin_count: int = 4,
    window_s: float | None = None,
    fair_share: Iterable[bool] = (False, True),
    progress: Callable[[Run], None] | None = None,
    replayer: Replayer = twin_replay,
) -> list[Run]:
    """Every window x capacity x FairShare setting (see the module docstring).

    Args:
        trace: the trace's name, for the report.
        workloads: the trace's jobs (:data:`optimizer.replay.WORKLOAD_COLUMNS`).
        policy: today's policy at the trace's own capacity.
        cluster: the trace's cluster.
        settings: the recommender's settings.
        capacities: fractions of the cluster's instances.
        origin_count: rolling origins.
        window_s: length of each future (default: up to the next origin).
        fair_share: FairShare settings to run.
        progress: called with each run as it ends.
        replayer: plays each policy over each window (default: the twin, every time).
    """
    runs = []
    for enabled in fair_share:
        toggled = with_values(policy, team_values(policy), name=policy.name, fair_share=enabled)
        for fraction in capacities:
            smaller = scaled_cluster(cluster, fraction)
            today = scaled_policy(toggled, cluster, smaller)
            for window in origins(workloads, origin_count, window_s):
                run = run_window(trace, workloads, window, today, smaller, settings, replayer)
                runs.append(run)
                if progress is not None:
                    progress(run)
    return runs
