"""Choose the candidate that does best on futures the solver did not see, and measure it.

Each candidate (``optimizer.candidates``) is replayed on the twin over the *choose* futures
(``optimizer.resample``). On each future, each of the three numbers an admin pays for (p95
wait, starved team-hours, preempted GPU-hours) is divided by the best any candidate reached
there, each plus a floor (1 h of wait; 0.5% of the teams' hours starved and of the cluster's
accelerator-hours preempted over the future), so that a 0 does not make every other value
infinite nor a trifle decide; a candidate's score is the sum of its three
ratios, its robust score the mean over futures plus their spread (max - mean). The lowest
robust score wins; ties keep the earlier candidate (CP-SAT's first).

The effect then printed comes from the *report* futures (resampled, not the hold-out as it
was), replaying today's policy and the chosen one: means and ranges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from optimizer.candidates import Candidate
from optimizer.demand import Window
from optimizer.evaluate.metrics import PolicyMetrics, against_today, measure
from optimizer.replay import capacity_accelerators, common_window, replay
from taskgov.policy.model import Cluster, Policy

# Floors added to the judged numbers: 1 hour of p95 wait; and, as shares of the future's
# span, team-hours of starvation (of every team's hours) and accelerator-hours preempted
# (of the cluster's): amounts too small to choose a policy by.
WAIT_FLOOR_S = 3600.0
FLOOR_SHARE = 0.005


@dataclass(frozen=True, slots=True)
class Choice:
    """The chosen candidate and the evidence.

    Attributes:
        chosen: the candidate's name.
        scores: robust score per candidate (lower is better), in candidate order.
        today: today's policy on each report future.
        proposed: the chosen policy on each report future.
    """

    chosen: str
    scores: Mapping[str, float]
    today: tuple[PolicyMetrics, ...]
    proposed: tuple[PolicyMetrics, ...]


def replay_all(
    workloads: pl.DataFrame, policies: Mapping[str, Policy], cluster: Cluster
) -> dict[str, PolicyMetrics]:
    """Each policy replayed on the same jobs, measured over one shared window."""
    results = [replay(workloads, policy, cluster, name=name) for name, policy in policies.items()]
    window: Window = common_window(results)
    return {result.name: measure(result, cluster, window) for result in results}


def floors(future: pl.DataFrame, cluster: Cluster, teams: int) -> tuple[float, float, float]:
    """The floors of the three judged numbers on ``future`` (see the module docstring)."""
    span_h = float(future["submit_s"].max() - future["submit_s"].min()) / 3600  # type: ignore[operator,arg-type]
    capacity = sum(capacity_accelerators(cluster).values())
    return WAIT_FLOOR_S, FLOOR_SHARE * teams * span_h, FLOOR_SHARE * capacity * span_h


def _ratios(
    metrics: Mapping[str, PolicyMetrics], floor: tuple[float, float, float]
) -> dict[str, float]:
    """Per policy: the sum over judged numbers of (value + floor) / (best + floor)."""
    best = [min(m.judged()[k] for m in metrics.values()) for k in range(3)]
    return {
        name: sum(
            (value + low_floor) / (low + low_floor)
            for value, low, low_floor in zip(m.judged(), best, floor, strict=True)
        )
        for name, m in metrics.items()
    }


def choose(
    candidates: Sequence[Candidate],
    today: Policy,
    cluster: Cluster,
    choose_futures: Sequence[pl.DataFrame],
    report_futures: Sequence[pl.DataFrame],
) -> Choice:
    """The candidate with the lowest robust score, and its out-of-sample effect.

    Without futures (too little history) the first candidate is chosen unscored.
    """
    policies = {c.name: c.policy for c in candidates}
    per_future: dict[str, list[float]] = {c.name: [] for c in candidates}
    for future in choose_futures:
        teams = len({q.compute_quota_target.team_name for q in today.active_quotas()})
        ratios = _ratios(replay_all(future, policies, cluster), floors(future, cluster, teams))
        for name in per_future:
            per_future[name].append(ratios[name])
    scores = {
        name: (sum(r) / len(r) + max(r) - sum(r) / len(r)) if r else 0.0
        for name, r in per_future.items()
    }
    chosen = min(scores, key=lambda name: (scores[name], list(scores).index(name)), default="")
    pair = {"today": today, "proposed": policies[chosen] if chosen else today}
    today_runs, proposed_runs = [], []
    for future in report_futures:
        measured = replay_all(future, pair, cluster)
        today_runs.append(measured["today"])
        proposed_runs.append(against_today(measured["proposed"], measured["today"]))
    return Choice(chosen, scores, tuple(today_runs), tuple(proposed_runs))
