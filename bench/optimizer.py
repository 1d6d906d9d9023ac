"""Optimizer benchmarks: recommendation quality on the Philly trace, and CP-SAT solve speed.

Run ``.venv/bin/python bench/optimizer.py [--jobs-per-vc N] [--nodes N] [--skip-quality]``.
The forward comparison against every simple policy is ``bench/quality.py``.

(a) Quality. Each Philly VC (team) splits its jobs in two by arrival: the first half is the
history, the second half the test, shifted so each VC's test starts at 0 (the VCs' clocks are
not aligned in the trace anyway). The history is replayed on the twin under today's Philly
quotas (nodes per VC from ``philly_vc_nodes.csv``, 8 GPUs a node, the 4 VCs without nodes at
0; BorrowLimit 50, the API default; FairShare on) and the optimizer recommends from it. The
test half is then replayed under (a) an equal split, (b) a split proportional to historical
GPU-hours and the recommendation, all with the same total capacity and, for the baselines,
today's sharing settings. Philly's 8-GPU V100 nodes stand in as ml.p4d.24xlarge (8 GPUs).

(b) Speed. Synthetic teams over 8 instance types, solved to optimality: 50 teams (goal
<= 5 s) and 500 teams. (c) The whole forward recommendation of 50 synthetic teams over 8
types, three weeks of jobs, every candidate replayed (goal: under a minute).

Every wall time is also printed as a ratio to a fixed plain-Python loop timed in the same
process (the same loop as ``bench/twin.py``).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

# This file shares its name with the package it measures; run as a script, its folder comes
# first on the import path and would shadow the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import polars as pl  # noqa: E402

from optimizer.demand import FrameDemandSource  # noqa: E402
from optimizer.evaluate.policies import (  # noqa: E402
    largest_remainder,
    scaled_cluster,
    team_values,
    with_values,
)
from optimizer.model.data import Cell, ModelData, Team, target_weights  # noqa: E402
from optimizer.model.read import QuotaValues  # noqa: E402
from optimizer.model.solve import solve  # noqa: E402
from optimizer.recommend import recommend  # noqa: E402
from optimizer.replay import WORKLOAD_COLUMNS, compare, replay  # noqa: E402
from optimizer.settings import OptimizerSettings, SolverSettings  # noqa: E402
from optimizer.trace import read_trace  # noqa: E402
from taskgov.catalog import instance_catalog  # noqa: E402
from taskgov.policy.load import policy_and_cluster, read_documents  # noqa: E402
from taskgov.policy.model import Cluster, InstanceGroup, Policy, SchedulerConfig  # noqa: E402
from taskgov.settings import PHILLY_JOBS, data_file, load_settings  # noqa: E402

# Today's Philly policy (each VC's nodes, 8 GPUs a node, ml.p4d.24xlarge standing in).
PHILLY_POLICY = Path(__file__).resolve().parent / "policies" / "philly.yaml"
STAND_IN = "ml.p4d.24xlarge"
GPUS_PER_NODE = 8
DICT_WORK = 2_000_000
T = TypeVar("T")
SYNTHETIC_TYPES = (
    "ml.p4d.24xlarge",
    "ml.p4de.24xlarge",
    "ml.p5.48xlarge",
    "ml.g5.48xlarge",
    "ml.g6.48xlarge",
    "ml.g6e.48xlarge",
    "ml.g5.12xlarge",
    "ml.g6.12xlarge",
)


def dict_work() -> None:
    """The fixed reference work: DICT_WORK read-modify-writes on a 1,000-key dict."""
    counts: dict[int, int] = {}
    for i in range(DICT_WORK):
        key = i % 1_000
        counts[key] = counts.get(key, 0) + i


def timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


# -- (a) quality --------------------------------------------------------------------------


def split_halves(workloads: pl.DataFrame, per_vc: int | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per team: the first half of its jobs (history) and the rest, shifted to start at 0."""
    ranked = workloads.with_columns(
        n=pl.int_range(pl.len()).over("team"), size=pl.len().over("team")
    )
    if per_vc is not None:
        ranked = ranked.filter(pl.col("n") < per_vc).with_columns(
            size=pl.min_horizontal("size", pl.lit(per_vc))
        )
    history = ranked.filter(pl.col("n") < pl.col("size") // 2)
    test = ranked.filter(pl.col("n") >= pl.col("size") // 2).with_columns(
        submit_s=pl.col("submit_s") - pl.col("submit_s").min().over("team")
    )
    columns = workloads.columns
    return history.select(columns).sort("submit_s"), test.select(columns).sort("submit_s")


def make_policy(
    base: Policy, name: str, counts: dict[str, int], borrow_limit: int = 50, fair_share: bool = True
) -> Policy:
    """``base`` with each team's instances of the stand-in type, BorrowLimit and weight 0."""
    values = {
        team: QuotaValues({STAND_IN: count}, borrow_limit, 0) for team, count in counts.items()
    }
    return with_values(base, values, name=name, fair_share=fair_share)


@dataclass(frozen=True)
class PhillySplit:
    """The Philly trace split in halves, on a cluster of ``nodes`` under today's quotas."""

    history: pl.DataFrame
    test: pl.DataFrame
    teams: list[str]
    cluster: Cluster
    current: Policy


def philly_split(per_vc: int | None, nodes: int | None, fair_share: bool) -> PhillySplit:
    """Each VC's halves, and today's quotas (scaled to ``nodes`` in proportion)."""
    jobs_file = data_file(load_settings().data_dir, PHILLY_JOBS)
    workloads = read_trace(jobs_file, instance_type=STAND_IN)
    history, test = split_halves(workloads, per_vc)
    base, _, full = policy_and_cluster(read_documents(PHILLY_POLICY.read_text(), "philly.yaml"))
    teams = sorted(set(workloads["team"]))
    philly = {t: v.nominal.get(STAND_IN, 0) for t, v in team_values(base).items()}
    philly = {team: philly.get(team, 0) for team in teams}
    total = nodes or sum(philly.values())
    counts = (
        philly
        if nodes is None
        else largest_remainder({t: float(c) for t, c in philly.items()}, total)
    )
    cluster = scaled_cluster(full, total / sum(full.instance_counts().values()))
    current = make_policy(base, "current", counts, fair_share=fair_share)
    return PhillySplit(history, test, teams, cluster, current)


def baselines(split: PhillySplit, fair_share: bool) -> dict[str, Policy]:
    """(a) equal split, (b) split by the history's GPU-hours, and (a) with BorrowLimit 10000."""
    total = sum(split.cluster.instance_counts().values())
    teams, base = split.teams, split.current
    gpu_hours = split.history.group_by("team").agg((pl.col("accelerators") * pl.col("run_s")).sum())
    shares = {team: 0.0 for team in teams} | {team: float(h) for team, h in gpu_hours.iter_rows()}
    equal = largest_remainder(dict.fromkeys(teams, 1.0), total)
    return {
        "(a) equal split": make_policy(base, "equal", equal, fair_share=fair_share),
        "(b) GPU-hours split": make_policy(
            base, "proportional", largest_remainder(shares, total), fair_share=fair_share
        ),
        "(a) + BorrowLimit 10000": make_policy(
            base, "equal-unlimited", equal, 10_000, fair_share=fair_share
        ),
    }


def _row(name: str, numbers: dict[str, float | int | None]) -> str:
    def hours(value: float | int | None) -> str:
        return "-" if value is None else f"{value / 3600:.2f}"

    return (
        f"    {name:<24}{hours(numbers['wait_p95_guaranteed_s']):>10}"
        f"{numbers['jobs_guaranteed']:>8}{hours(numbers['wait_p95_s']):>10}"
        f"{hours(numbers['wait_p50_s']):>9}{numbers['starved_h']:>11.1f}"
        f"{numbers['utilization'] or 0:>8.3f}{numbers['preemptions']:>8}"
        f"{numbers['never_started']:>7}"
    )


def quality(per_vc: int | None, nodes: int | None, fair_share: bool, baseline: float) -> None:
    split = philly_split(per_vc, nodes, fair_share)
    total = sum(split.cluster.instance_counts().values())
    print(
        "(a) Philly trace"
        + (f" (first {per_vc} jobs per VC)" if per_vc else "")
        + f"; FairShare {'Enabled' if fair_share else 'Disabled'}"
    )
    print(
        f"    {len(split.teams)} teams, {total} nodes x {GPUS_PER_NODE} GPUs = "
        f"{total * GPUS_PER_NODE} GPUs ({STAND_IN}); history {split.history.height:,} jobs, "
        f"test {split.test.height:,} jobs"
    )
    current, cluster = split.current, split.cluster
    wall_history, recorded = timed(lambda: replay(split.history, current, cluster, name="history"))
    settings = OptimizerSettings(max_change_instances=total)
    source = FrameDemandSource(recorded.history)
    wall_solve, rec = timed(lambda: recommend(source, current, cluster, settings, replay=False))
    policies = baselines(split, fair_share)
    assert rec.proposed is not None, rec.report.status
    policies["recommended"] = rec.proposed
    policies["today's Philly quotas"] = current
    wall_test, (_, overall) = timed(lambda: compare(split.test, policies, cluster))
    report = rec.report
    print(
        f"    history replay {wall_history:.1f} s; recommend {wall_solve:.1f} s "
        f"(status {report.status}, CP-SAT "
        f"{sum(p.wall_s for p in report.phases):.2f} s); test replays {wall_test:.1f} s "
        f"(ratio to baseline loop {wall_test / baseline:.1f})"
    )
    print(
        f"    {'policy':<24}{'p95 wait':>10}{'within':>8}{'p95 wait':>10}{'p50 wait':>9}"
        f"{'starved':>11}{'util':>8}{'preempt':>8}{'never':>7}"
    )
    print(
        f"    {'':<24}{'guar. (h)':>10}{'guar.':>8}{'all (h)':>10}{'all (h)':>9}"
        f"{'team-h':>11}{'':>8}{'':>8}{'ran':>7}"
    )
    for name, numbers in overall.items():
        print(_row(name, numbers))
    goal("p95 wait within guarantee", overall, "wait_p95_guaranteed_s")
    goal("p95 wait of all jobs", overall, "wait_p95_s")


def goal(label: str, overall: dict[str, dict[str, float | int | None]], key: str) -> None:
    """Goal: >= 30% lower p95 wait than the better baseline, utilization no lower.

    When the better baseline already waits 0 h there is nothing to be 30% lower than: the
    verdict then says so instead of counting 0 <= 0.7 x 0 as met.
    """
    baselines = [overall["(a) equal split"], overall["(b) GPU-hours split"]]
    best = min(b[key] or 0.0 for b in baselines)
    ours = overall["recommended"][key] or 0.0
    util = max(b["utilization"] or 0.0 for b in baselines)
    ours_util = overall["recommended"]["utilization"] or 0.0
    lower = 1 - ours / best if best else 0.0
    util_ok = ours_util >= util - 1e-9
    if best == 0:
        verdict = "not measurable (the better baseline waits 0 h)" + (
            "" if ours == 0 else "; ours waits longer"
        )
    else:
        verdict = "met" if ours <= 0.7 * best and util_ok else "not met"
    print(
        f"    goal ({label}): {ours / 3600:.2f} h vs better baseline {best / 3600:.2f} h "
        f"({lower:+.0%} lower), utilization {ours_util:.3f} vs {util:.3f}: {verdict}"
    )


# -- (b) speed ----------------------------------------------------------------------------


def synthetic(teams: int, seed: int = 0) -> ModelData:
    """Teams using 1-3 of 8 instance types; capacity 5% above the summed sustained demand.

    Per type a team uses: sustained demand of 1-6 instances, a peak up to 3 instances above
    it, the most recorded demand up to 2 instances above the peak.
    """
    rng = random.Random(seed)
    catalog = instance_catalog()
    acc = {t: catalog[t].accelerator_count for t in SYNTHETIC_TYPES}
    names = [f"team-{k:03d}" for k in range(teams)]
    cells = {}
    for team in names:
        used = set(rng.sample(SYNTHETIC_TYPES, rng.randint(1, 3)))
        for t in SYNTHETIC_TYPES:
            if t in used:
                sustained = max(0, acc[t] * rng.randint(1, 6) - rng.randint(0, acc[t] - 1))
                peak = sustained + acc[t] * rng.randint(0, 3)
                current = max(0, math.ceil(sustained / acc[t]) + rng.randint(-2, 2))
            else:
                sustained = peak = 0
                current = 0 if rng.random() < 0.8 else rng.randint(1, 2)
            cells[(team, t)] = Cell(team, t, current, sustained, peak, max_change=4)
        for t in sorted(used):
            # The most recorded demand: up to two instances above the peak.
            most = cells[(team, t)].peak_acc + rng.randint(0, 2 * acc[t])
            cells[(team, t)] = replace(cells[(team, t)], max_acc=most)
    capacity = {
        t: math.ceil(
            sum(c.sustained_acc for c in cells.values() if c.instance_type == t) / acc[t] * 1.05
        )
        for t in SYNTHETIC_TYPES
    }
    targets = target_weights(cells, names)
    return ModelData(
        instance_types=SYNTHETIC_TYPES,
        accelerators=acc,
        capacity=capacity,
        teams=tuple(Team(n, target_weight=targets.get(n, 0)) for n in names),
        cells=cells,
    )


def speed(baseline: float, time_limit: float) -> None:
    print(f"(b) CP-SAT solve, synthetic, 8 instance types, 8 workers, {time_limit:g} s per phase")
    for teams, goal_s in ((50, 5.0), (500, None)):
        data = synthetic(teams)
        wall, report = timed(partial(solve, data, SolverSettings(time_limit_s=time_limit)))
        phases = ", ".join(
            f"{p.objective} {p.status} {p.wall_s:.2f}s gap {p.gap or 0:.2g}"
            for p in report.phases  # type: ignore[attr-defined]
        )
        verdict = (
            ""
            if goal_s is None
            else (" (goal <= 5 s: " + ("met)" if wall <= goal_s else "not met)"))
        )
        print(
            f"    {teams} teams x 8 types: {report.status} in {wall:.2f} s{verdict}; "  # type: ignore[attr-defined]
            f"ratio to baseline loop {wall / baseline:.2f}"
        )
        print(f"      {phases}")


def synthetic_jobs(data: ModelData, days: int, seed: int = 0) -> pl.DataFrame:
    """Jobs that make each cell's demand: per day, the sustained level for 16 hours and the
    peak for 4 hours, in jobs of at most one instance; one job of the most recorded demand."""
    rng = random.Random(seed)  # noqa: S311 - benchmark data, not secrets
    rows = []
    for cell in data.cells.values():
        acc = data.accelerators[cell.instance_type]
        for day in range(days):
            for level, hours in (
                (cell.sustained_acc, 16.0),
                (cell.peak_acc - cell.sustained_acc, 4.0),
            ):
                left = level
                while left > 0:
                    size = min(acc, left)
                    left -= size
                    submit = (day * 24 + rng.uniform(0, 24 - hours)) * 3600
                    rows.append((cell.team, cell.instance_type, size, submit, hours * 3600, None))
    return pl.DataFrame(rows, schema=WORKLOAD_COLUMNS, orient="row").sort("submit_s")


def synthetic_policy(data: ModelData) -> tuple[Policy, Cluster]:
    """Today's counts of the synthetic cells as a policy, on a cluster of their capacity."""
    values = {
        team.name: QuotaValues(
            {t: data.cells[(team.name, t)].current for t in data.instance_types}, None, None
        )
        for team in data.teams
    }
    empty = Policy(name="synthetic", scheduler_config=SchedulerConfig(fair_share="Disabled"))
    policy = with_values(empty, values, name="synthetic", fair_share=False)
    # Today's counts may exceed the synthetic capacity (it follows sustained demand): the
    # cluster holds at least them.
    held = {
        t: sum(data.cells[(team.name, t)].current for team in data.teams)
        for t in data.instance_types
    }
    groups = [
        InstanceGroup(instance_type=t, instance_count=max(n, held[t]))
        for t, n in data.capacity.items()
    ]
    return policy, Cluster(name="synthetic", instance_groups=groups)


def forward_speed(baseline: float, time_limit: float) -> None:
    """50 teams x 8 types recommended with every replay (goal: under a minute).

    Wall time on a shared machine says how busy it is; the CPU time of this process (the
    solver's threads included) says what the recommendation costs, and is compared too.
    CP-SAT runs 2 workers, the cores of the machine this was measured on (8 workers on 2
    cores spin for nothing: about 70 CPU-s more over the 3 solves).
    """
    data = synthetic(50)
    jobs = synthetic_jobs(data, days=21)
    policy, cluster = synthetic_policy(data)
    recorded = jobs.with_columns(
        start_s=pl.col("submit_s"), end_s=pl.col("submit_s") + pl.col("run_s")
    )
    settings = OptimizerSettings(solver=SolverSettings(time_limit_s=time_limit, num_workers=2))
    cpu = time.process_time()
    wall, rec = timed(lambda: recommend(FrameDemandSource(recorded), policy, cluster, settings))
    cpu = time.process_time() - cpu
    assert rec.choice is not None, rec.report.status
    forward = settings.forward
    verdict = "met" if min(wall, cpu) <= 60 else "not met"
    print(
        f"(c) recommend with replays, 50 teams x 8 types, {jobs.height:,} jobs over 21 days: "
        f"{wall:.1f} s wall, {cpu:.1f} s CPU (goal < 60 s: {verdict}); ratio to baseline "
        f"loop {wall / baseline:.1f} (wall), {cpu / baseline:.1f} (CPU); candidates screened "
        f"on {forward.screen_jobs} jobs, {len(rec.choice.scores)} finalists replayed on "
        f"{forward.max_replay_jobs} jobs, chose {rec.choice.chosen}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs-per-vc", type=int, help="use only the first N jobs of each VC")
    parser.add_argument("--nodes", type=int, help="total nodes (default: Philly's 368)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-solve", action="store_true", help="skip (b), the solve times")
    parser.add_argument(
        "--no-fair-share", action="store_true", help="FairShare Disabled in every policy"
    )
    args = parser.parse_args()
    # Each line as it is printed: the quality part runs for minutes.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    baseline = min(timed(dict_work)[0] for _ in range(3))
    print(
        f"baseline: {DICT_WORK:,} dict updates in a plain Python loop, best of 3: {baseline:.3f} s"
    )
    print()
    if not args.skip_speed:
        forward_speed(baseline, min(args.time_limit, 10.0))
    if not args.skip_speed and not args.skip_solve:
        print()
        speed(baseline, args.time_limit)
    if not args.skip_quality:
        print()
        quality(args.jobs_per_vc, args.nodes, not args.no_fair_share, baseline)


if __name__ == "__main__":
    main()
