"""The forward evaluation as JSON, as tables people read, and the verdicts it is judged by.

Verdicts, on the three judged numbers (p95 wait, starved team-hours, preempted GPU-hours):

- per run: a baseline *beats* the recommendation when it is at least as good on all three
  and more than 5% better on one;
- summed over a trace's windows at one capacity and FairShare setting, per baseline: the
  recommendation *wins* when it is at least 30% better on one of the three and at most 5%
  worse on the other two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from statistics import fmean
from typing import Any

from optimizer.evaluate.harness import RECOMMENDED, Run
from optimizer.evaluate.metrics import JUDGED, PolicyMetrics, beats, wins
from optimizer.plan import human_hours

COLUMNS = [
    "policy",
    "p50 wait",
    "p95 wait",
    "p99 wait",
    "starved",
    "preempted",
    "never ran",
    "guar. <5 min",
    "util",
    "worst team",
]


def run_document(run: Run) -> dict[str, Any]:
    """One run in the JSON shape of ``bench/quality.py -o json``."""
    return {
        "trace": run.trace,
        "origin": run.origin_s,
        "end": run.end_s,
        "capacity_instances": run.capacity_instances,
        "fair_share": run.fair_share,
        "recommended_from": run.chosen,
        "policies": {name: asdict(m) for name, m in run.policies.items()},
    }


def run_from_document(doc: Mapping[str, Any]) -> Run:
    """A run back from its :func:`run_document` (``bench/quality.py --from-json``)."""
    return Run(
        trace=doc["trace"],
        origin_s=doc["origin"],
        end_s=doc["end"],
        capacity_instances=doc["capacity_instances"],
        fair_share=doc["fair_share"],
        chosen=doc["recommended_from"],
        policies={name: PolicyMetrics(**m) for name, m in doc["policies"].items()},
    )


def _row(name: str, m: PolicyMetrics) -> dict[str, str]:
    """One policy's metrics as a row in human units."""
    worst = "-" if m.worst_team is None else f"{m.worst_team} +{human_hours(m.worst_regression_s)}"
    return {
        "policy": name,
        "p50 wait": human_hours(m.wait_p50_s),
        "p95 wait": human_hours(m.wait_p95_s),
        "p99 wait": human_hours(m.wait_p99_s),
        "starved": f"{m.starved_team_h:,.1f} team-h",
        "preempted": f"{m.preempted_gpu_h:,.1f} GPU-h",
        "never ran": str(m.never_started),
        "guar. <5 min": "-" if m.served_5min is None else f"{m.served_5min:.0%}",
        "util": f"{m.utilization:.3f}",
        "worst team": worst,
    }


def table_rows(run: Run) -> list[dict[str, str]]:
    """One row per policy, in human units."""
    return [_row(name, m) for name, m in run.policies.items()]


def beaten_by(run: Run) -> list[str]:
    """Baselines that beat the recommendation in this run."""
    ours = run.policies[RECOMMENDED].judged()
    return [
        name for name, m in run.policies.items() if name != RECOMMENDED and beats(m.judged(), ours)
    ]


def sums(runs: Iterable[Run]) -> dict[str, tuple[float, float, float]]:
    """Per policy: the judged numbers summed over the runs."""
    total: dict[str, list[float]] = {}
    for run in runs:
        for name, m in run.policies.items():
            acc = total.setdefault(name, [0.0, 0.0, 0.0])
            for k, value in enumerate(m.judged()):
                acc[k] += value
    return {name: (v[0], v[1], v[2]) for name, v in total.items()}


def grouped(runs: Iterable[Run]) -> dict[tuple[str, int, bool], list[Run]]:
    """The runs per trace, capacity and FairShare setting, in the order they came."""
    groups: dict[tuple[str, int, bool], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.trace, run.capacity_instances, run.fair_share), []).append(run)
    return groups


def over_windows(metrics: Sequence[PolicyMetrics]) -> PolicyMetrics:
    """One policy's metrics over several windows: each wait percentile, the utilization and
    the served share as the windows' mean (the served share over the windows that had jobs
    within guarantee; the sum the verdict reads is the mean times the windows, so it orders
    the same); jobs, starved, preempted, preemptions and never ran as totals; the worst team
    as the largest regression in one window."""
    served = [m.served_5min for m in metrics if m.served_5min is not None]
    worst = max(metrics, key=lambda m: m.worst_regression_s)
    return PolicyMetrics(
        jobs=sum(m.jobs for m in metrics),
        wait_p50_s=fmean(m.wait_p50_s for m in metrics),
        wait_p95_s=fmean(m.wait_p95_s for m in metrics),
        wait_p99_s=fmean(m.wait_p99_s for m in metrics),
        starved_team_h=sum(m.starved_team_h for m in metrics),
        preempted_gpu_h=sum(m.preempted_gpu_h for m in metrics),
        preemptions=sum(m.preemptions for m in metrics),
        never_started=sum(m.never_started for m in metrics),
        utilization=fmean(m.utilization for m in metrics),
        served_5min=fmean(served) if served else None,
        worst_team=worst.worst_team,
        worst_regression_s=worst.worst_regression_s,
    )


def summed_rows(runs: Sequence[Run]) -> list[dict[str, str]]:
    """One row per policy over a group's windows (:func:`over_windows`), in human units."""
    return [
        _row(name, over_windows([run.policies[name] for run in runs])) for name in runs[0].policies
    ]


def summary(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Per trace, capacity and FairShare setting: sums per baseline and both verdicts."""
    result = []
    for (trace, capacity, fair_share), group in grouped(runs).items():
        summed = sums(group)
        ours = summed[RECOMMENDED]
        result.append(
            {
                "trace": trace,
                "capacity_instances": capacity,
                "fair_share": fair_share,
                "windows": len(group),
                "beaten_in": {f"{run.origin_s / 86400:.1f}d": beaten_by(run) for run in group},
                "summed": {name: dict(zip(JUDGED, v, strict=True)) for name, v in summed.items()},
                "not_won_against": [
                    name for name, v in summed.items() if name != RECOMMENDED and not wins(ours, v)
                ],
            }
        )
    return result
