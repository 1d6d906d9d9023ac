"""What an admin pays for under a policy, measured on one replay of one window.

Waits are nearest-rank percentiles of every job submitted in the window (a job that never
started waits until the window ends). ``starved_team_h`` sums, over teams, the hours a team
had pending accelerators while its instance type had idle ones. ``preempted_gpu_h`` is the
work preemption threw away: for each preemption, the victim's accelerators times its run
since its last admission. ``served_5min`` is, per team, the share of its jobs within its
guarantee (its demand at submission, the job included, fits its nominal quota) that started
within 5 minutes: the guarantee the admin promised, kept or not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from optimizer.demand import Window, rank_percentile
from optimizer.replay import ReplayResult, team_metrics
from taskgov.policy.model import Cluster

SERVED_WITHIN_S = 300.0
# The three numbers the forward comparison is judged on.
JUDGED = ("wait_p95_s", "starved_team_h", "preempted_gpu_h")
# Summed over windows, ours *wins* against another when at least BETTER better on one judged
# number and at most WORSE worse on the other two.
BETTER = 0.30
WORSE = 0.05


@dataclass(frozen=True, slots=True)
class PolicyMetrics:
    """One policy on one window.

    Attributes:
        wait_p50_s, wait_p95_s, wait_p99_s: waits of all jobs.
        starved_team_h: team-hours pending beside idle accelerators.
        preempted_gpu_h: accelerator-hours of run lost to preemption.
        preemptions: how many preemptions.
        never_started: jobs still pending when the window ends.
        utilization: accelerator-hours used over the cluster's, in the window.
        served_5min: over all teams, the share of jobs within guarantee started within 5 min.
        team_wait_p50_s, team_wait_p95_s, team_wait_p99_s: per team, the waits of its jobs.
        team_served_5min: per team, its share of jobs within guarantee started within 5 min.
        worst_team: the team whose p95 wait grew most against today's policy, if any grew.
        worst_regression_s: how much it grew (0 when no team waits longer).
    """

    jobs: int
    wait_p50_s: float
    wait_p95_s: float
    wait_p99_s: float
    starved_team_h: float
    preempted_gpu_h: float
    preemptions: int
    never_started: int
    utilization: float
    served_5min: float | None
    team_wait_p50_s: Mapping[str, float] = field(default_factory=dict)
    team_wait_p95_s: Mapping[str, float] = field(default_factory=dict)
    team_wait_p99_s: Mapping[str, float] = field(default_factory=dict)
    team_served_5min: Mapping[str, float | None] = field(default_factory=dict)
    worst_team: str | None = None
    worst_regression_s: float = 0.0

    def judged(self) -> tuple[float, float, float]:
        """p95 wait, starved team-hours, preempted GPU-hours."""
        return self.wait_p95_s, self.starved_team_h, self.preempted_gpu_h


def _per_team(per_team: pl.DataFrame, column: str) -> dict[str, float]:
    return {t: float(v or 0.0) for t, v in zip(per_team["team"], per_team[column], strict=True)}


def measure(result: ReplayResult, cluster: Cluster, window: Window) -> PolicyMetrics:
    """The metrics of one replay over ``window`` (shared by every policy of the window)."""
    by_team, profile = team_metrics(result, cluster, window, (50.0,))
    jobs = profile.job_waits
    wait = pl.col("wait_s")
    aggregates = {
        "p50": rank_percentile(wait, 50),
        "p95": rank_percentile(wait, 95),
        "p99": rank_percentile(wait, 99),
        "served": (wait <= SERVED_WITHIN_S).filter(pl.col("guaranteed")).mean(),
    }
    overall = jobs.select(**aggregates).row(0, named=True)
    per_team = jobs.group_by("team").agg(**aggregates).sort("team")
    history = result.history
    lost = (history["accelerators"] * history["preempted_run_s"]).sum() / 3600
    used = float(profile.cluster["used_acc_h"].sum())
    capacity = int(profile.cluster["capacity_acc"].sum())
    span_h = (window.end_s - window.start_s) / 3600
    return PolicyMetrics(
        jobs=jobs.height,
        wait_p50_s=float(overall["p50"] or 0.0),
        wait_p95_s=float(overall["p95"] or 0.0),
        wait_p99_s=float(overall["p99"] or 0.0),
        starved_team_h=float(by_team["starved_h"].sum()),
        preempted_gpu_h=float(lost),
        preemptions=int(history["preemptions"].sum()),
        never_started=history["start_s"].null_count(),
        utilization=used / (capacity * span_h) if capacity and span_h else 0.0,
        served_5min=overall["served"],
        team_wait_p50_s=_per_team(per_team, "p50"),
        team_wait_p95_s=_per_team(per_team, "p95"),
        team_wait_p99_s=_per_team(per_team, "p99"),
        team_served_5min=dict(zip(per_team["team"], per_team["served"], strict=True)),
    )


def against_today(metrics: PolicyMetrics, today: PolicyMetrics) -> PolicyMetrics:
    """The metrics with the team whose p95 wait grew most against today's policy."""
    worst, grown = None, 0.0
    for team, p95 in sorted(metrics.team_wait_p95_s.items()):
        growth = p95 - today.team_wait_p95_s.get(team, 0.0)
        if growth > grown:
            worst, grown = team, growth
    return PolicyMetrics(
        **{
            name: getattr(metrics, name)
            for name in PolicyMetrics.__dataclass_fields__
            if name not in ("worst_team", "worst_regression_s")
        },
        worst_team=worst,
        worst_regression_s=grown,
    )


def beats(other: tuple[float, ...], ours: tuple[float, ...], margin: float = 0.05) -> bool:
    """``other`` is at least as good on every judged number and more than ``margin`` better
    on one (lower is better; a number 0 under ours cannot be beaten by more)."""
    if any(o > u for o, u in zip(other, ours, strict=True)):
        return False
    return any(o < u * (1 - margin) for o, u in zip(other, ours, strict=True))


def wins(ours: Sequence[float], theirs: Sequence[float]) -> bool:
    """At least 30% better on one judged number, at most 5% worse on the other two."""
    for k in range(len(ours)):
        better = ours[k] <= (1 - BETTER) * theirs[k] and theirs[k] > 0
        others = all(ours[j] <= (1 + WORSE) * theirs[j] for j in range(len(ours)) if j != k)
        if better and others:
            return True
    return False
