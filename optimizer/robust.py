"""Choose the candidate that does best on futures the solver did not see, and measure it.

Each candidate (``optimizer.candidates``) is replayed on the twin over the *choose* futures
(``optimizer.resample``). On each future, each of the three numbers an admin pays for (p95
wait, starved team-hours, preempted GPU-hours) is divided by the best any candidate reached
there, each plus a floor (1 h of wait; 0.5% of the teams' hours starved and of the cluster's
accelerator-hours preempted over the future), so that a 0 does not make every other value
infinite nor a trifle decide; a candidate's score is the sum of its three
ratios, its robust score the mean over futures plus their spread (max - mean). The lowest
robust score wins; ties keep the earlier candidate (CP-SAT's first). With many candidates,
each is first replayed on a short stretch (the surge's first jobs) and only the best few go
on: a replay costs about the same per job whatever the policy, so this bounds the choice's
cost by a few full replays.

The effect then printed comes from the *report* futures (resampled, not the hold-out as it
was), replaying today's policy and the chosen one: means and ranges.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from optimizer.candidates import Candidate
from optimizer.demand import Window
from optimizer.evaluate.metrics import PolicyMetrics, against_today, beats, measure, wins
from optimizer.replay import ReplayResult, capacity_accelerators, common_window, replay
from optimizer.resample import Futures
from taskgov.policy.model import Cluster, Policy

# Floors added to the judged numbers: 1 hour of p95 wait; and, as shares of the future's
# span, team-hours of starvation (of every team's hours) and accelerator-hours preempted
# (of the cluster's): amounts too small to choose a policy by.
WAIT_FLOOR_S = 3600.0
FLOOR_SHARE = 0.005
# p95 wait, starved team-hours, preempted accelerator-hours.
Judged = tuple[float, float, float]


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


# Plays jobs under a policy on the twin: (workloads, policy, cluster, name) -> result.
Replayer = Callable[[pl.DataFrame, Policy, Cluster, str], ReplayResult]


def twin_replay(
    workloads: pl.DataFrame, policy: Policy, cluster: Cluster, name: str
) -> ReplayResult:
    """:func:`optimizer.replay.replay` as a :data:`Replayer`."""
    return replay(workloads, policy, cluster, name=name)


def measured(
    workloads: pl.DataFrame,
    policies: Mapping[str, Policy],
    cluster: Cluster,
    replayer: Replayer = twin_replay,
) -> tuple[dict[str, PolicyMetrics], Window]:
    """Each policy replayed on the same jobs, measured over one shared window (returned)."""
    results = [replayer(workloads, policy, cluster, name) for name, policy in policies.items()]
    window: Window = common_window(results)
    return {result.name: measure(result, cluster, window) for result in results}, window


def replay_all(
    workloads: pl.DataFrame,
    policies: Mapping[str, Policy],
    cluster: Cluster,
    replayer: Replayer = twin_replay,
) -> dict[str, PolicyMetrics]:
    """Each policy replayed on the same jobs (by ``replayer``; a bench may reuse replays it
    made before), measured over one shared window."""
    return measured(workloads, policies, cluster, replayer)[0]


def floors(window: Window, cluster: Cluster, teams: int) -> tuple[float, float, float]:
    """The floors of the three judged numbers over ``window`` (see the module docstring)."""
    span_h = (window.end_s - window.start_s) / 3600
    capacity = sum(capacity_accelerators(cluster).values())
    return WAIT_FLOOR_S, FLOOR_SHARE * teams * span_h, FLOOR_SHARE * capacity * span_h


def _ratios(judged: Mapping[str, Judged], floor: Judged) -> dict[str, float]:
    """Per policy: the sum over judged numbers of (value + floor) / (best + floor)."""
    best = [min(values[k] for values in judged.values()) for k in range(3)]
    return {
        name: sum(
            (value + low_floor) / (low + low_floor)
            for value, low, low_floor in zip(values, best, floor, strict=True)
        )
        for name, values in judged.items()
    }


def judged_runs(
    policies: Mapping[str, Policy], cluster: Cluster, futures: Sequence[pl.DataFrame], teams: int
) -> list[tuple[dict[str, Judged], Judged]]:
    """Per future: each policy's judged numbers, and the floors of that future."""
    runs = []
    for future in futures:
        metrics, window = measured(future, policies, cluster)
        runs.append(({n: m.judged() for n, m in metrics.items()}, floors(window, cluster, teams)))
    return runs


def ratio_scores(runs: Sequence[tuple[Mapping[str, Judged], Judged]]) -> dict[str, float]:
    """Per policy, in order: the worst over the futures of its summed ratios (0 without)."""
    per_future: dict[str, list[float]] = {}
    for judged, floor in runs:
        for name, ratio in _ratios(judged, floor).items():
            per_future.setdefault(name, []).append(ratio)
    return {name: max(r) for name, r in per_future.items()}


def verdict_losses(runs: Sequence[tuple[Mapping[str, Judged], Judged]]) -> dict[str, int]:
    """Per policy: how many others beat it in some future (at least as good on all three,
    more than 5% better on one) or, summed over the futures, it does not win against
    (the forward evaluation's verdicts, ``optimizer.evaluate.report``)."""
    if not runs:
        return {}
    names = list(runs[0][0])
    summed = {n: tuple(sum(judged[n][k] for judged, _ in runs) for k in range(3)) for n in names}
    losses = {}
    for name in names:
        lost = 0
        for other in names:
            if other == name:
                continue
            beaten = any(beats(judged[other], judged[name]) for judged, _ in runs)
            lost += beaten or not wins(summed[name], summed[other])
        losses[name] = lost
    return losses


def robust_scores(
    policies: Mapping[str, Policy],
    cluster: Cluster,
    futures: Sequence[pl.DataFrame],
    teams: int,
    rule: str = "ratio",
) -> dict[str, float]:
    """Per policy, in order, lower is better: with ``ratio``, the worst over ``futures`` of
    its summed ratios; with ``verdict``, its verdict losses plus that score over a thousand
    (0 without futures)."""
    runs = judged_runs(policies, cluster, futures, teams)
    ratios = ratio_scores(runs) if runs else dict.fromkeys(policies, 0.0)
    if rule != "verdict" or not runs:
        return ratios
    losses = verdict_losses(runs)
    return {name: losses[name] + min(ratios[name], 999.0) / 1000 for name in policies}


def _best(scores: Mapping[str, float], count: int) -> list[str]:
    """The ``count`` lowest scores' names, ties to the earlier, in the scores' order."""
    order = list(scores)
    kept = sorted(order, key=lambda name: (scores[name], order.index(name)))[:count]
    return [name for name in order if name in kept]


def choose(
    candidates: Sequence[Candidate],
    today: Policy,
    cluster: Cluster,
    futures: Futures,
    *,
    finalists: int | None = None,
    rule: str = "ratio",
) -> Choice:
    """The candidate with the lowest robust score, and its out-of-sample effect.

    With more candidates than ``finalists``, all are first replayed on ``futures.screen``
    (a short stretch) and only the ``finalists`` best go on. Without futures (too little
    history) the first candidate is chosen unscored.
    """
    policies = {c.name: c.policy for c in candidates}
    teams = len({q.compute_quota_target.team_name for q in today.active_quotas()})
    if finalists is not None and len(policies) > finalists and futures.screen:
        screened = robust_scores(policies, cluster, futures.screen, teams, rule)
        policies = {name: policies[name] for name in _best(screened, finalists)}
    scores = robust_scores(policies, cluster, futures.choose, teams, rule)
    chosen = _best(scores, 1)[0] if scores else ""
    pair = {"today": today, "proposed": policies[chosen] if chosen else today}
    today_runs, proposed_runs = [], []
    for future in futures.report:
        report = replay_all(future, pair, cluster)
        today_runs.append(report["today"])
        proposed_runs.append(against_today(report["proposed"], report["today"]))
    return Choice(chosen, scores, tuple(today_runs), tuple(proposed_runs))
