"""Every simple policy a cluster admin could pick instead of the recommendation.

Today's policy; and each instance type's capacity split equally, by past accelerator-hours or
by past peak (the most accelerators the team asked for at once, each job counted from its
submission for its run time), each with BorrowLimit 50 (the API default), 100 and 10000.
With FairShare Enabled, each split comes twice: equal weights (1 each) and weights by share
(the largest holder 100). The splits are the admin's one-line rules, so
they get no guards: a team without history gets nothing under a split by history.
"""

from __future__ import annotations

import polars as pl

from optimizer.candidates import shares, weights_by_share
from optimizer.evaluate.policies import split, team_values, with_values
from optimizer.model.read import QuotaValues
from taskgov.policy.model import Cluster, Policy

BORROW_LIMITS = (50, 100, 10_000)
SPLIT_NAMES = {"equal": "equal", "gpu_hours": "GPU-hours", "peak": "peak"}


def baseline_policies(
    history: pl.DataFrame, today: Policy, cluster: Cluster, *, fair_share: bool
) -> dict[str, Policy]:
    """Today's policy and every simple split, by name, each with FairShare as given.

    Args:
        history: the jobs before the origin (team, instance type, accelerators, run_s, ...).
        today: today's policy at this capacity.
        cluster: the cluster at this capacity.
        fair_share: FairShare Enabled in every policy.
    """
    teams = sorted(set(team_values(today)) | set(history["team"]))
    policies = {
        "today": with_values(today, team_values(today), name="today", fair_share=fair_share)
    }
    for kind, label in SPLIT_NAMES.items():
        counts = split(shares(history, kind, teams), cluster.instance_counts(), teams)
        weightings: dict[str, dict[str, int | None]] = {"": dict.fromkeys(teams)}
        if fair_share:
            weightings = {
                " w=equal": dict.fromkeys(teams, 1),
                " w=share": dict(weights_by_share(counts)),
            }
        for limit in BORROW_LIMITS:
            for suffix, weights in weightings.items():
                values = {t: QuotaValues(counts[t], limit, weights[t]) for t in teams}
                name = f"{label} BL{limit}{suffix}"
                policies[name] = with_values(today, values, name="baseline", fair_share=fair_share)
    return policies
