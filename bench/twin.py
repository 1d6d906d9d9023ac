"""Twin benchmarks: Philly trace replays and Kueue's scheduler perf "baseline" and "large-scale".

Run ``.venv/bin/python bench/twin.py [--limit N] [--only LETTERS]``: (a) the Philly trace on
Philly's quotas, (b, c) the Philly trace with fair sharing on, every VC at weight 0, on 176
and 96 nodes, (d, e) Kueue's scheduler-perf scenarios, generated here in the shape of Kueue's
generator.yaml. Every wall time is also printed as a ratio to a fixed amount of plain-Python
dict work timed in the same process, so figures from different (or noisy) machines compare.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from taskgov.settings import PHILLY_JOBS as PHILLY_JOBS_FILE
from taskgov.settings import PHILLY_NODES as PHILLY_NODES_FILE
from taskgov.settings import data_file, load_settings
from taskgov.twin.build import add_queue, cluster_queue, one_pod_workload
from taskgov.twin.engine import Twin
from taskgov.twin.objects import Cohort, ResourceFlavor, ResourceQuota
from taskgov.twin.scenario import Scenario
from taskgov.twin.trace import PHILLY_GPUS_PER_NODE, load_trace, philly_quotas

# The packaged Philly files, or those under TASKGOV_DATA_DIR.
DATA = load_settings().data_dir
PHILLY_JOBS, PHILLY_NODES = data_file(DATA, PHILLY_JOBS_FILE), data_file(DATA, PHILLY_NODES_FILE)
DICT_WORK = 2_000_000
PERF_CONFIGS = Path(__file__).with_name("kueue_perf_configs.yaml")


@dataclass(frozen=True)
class WorkloadClass:
    """One ``workloadsSets`` entry of a Kueue scheduler-perf generator.yaml."""

    name: str
    count: int
    creation_interval_ms: int
    cpu_millis: int
    priority: int
    runtime_ms: int


@dataclass(frozen=True)
class PerfConfig:
    """A Kueue scheduler-perf configuration: its generator and its rangespec."""

    name: str
    cohorts: int
    queues_per_cohort: int
    nominal_m: int
    borrowing_limit_m: int
    classes: tuple[WorkloadClass, ...]
    # rangespec: (measured average, threshold, True if the threshold is a minimum).
    wall_s: tuple[float, float, bool]
    usage: tuple[float, float, bool]
    admission_ms: dict[str, tuple[float, float, bool]]


def perf_configs(path: Path = PERF_CONFIGS) -> dict[str, PerfConfig]:
    """Kueue's scheduler-perf configurations, by name, from the restated data file."""
    configs: dict[str, dict[str, Any]] = yaml.safe_load(path.read_text())

    def ranged(value: list[Any]) -> tuple[float, float, bool]:
        return float(value[0]), float(value[1]), bool(value[2])

    return {
        name: PerfConfig(
            name,
            int(c["cohorts"]),
            int(c["queues_per_cohort"]),
            int(c["nominal_m"]),
            int(c["borrowing_limit_m"]),
            tuple(WorkloadClass(str(w[0]), *map(int, w[1:])) for w in c["classes"]),
            ranged(c["wall_s"]),
            ranged(c["usage"]),
            {size: ranged(v) for size, v in c["admission_ms"].items()},
        )
        for name, c in configs.items()
    }


def dict_work() -> None:
    """The fixed reference work: DICT_WORK read-modify-writes on a 1,000-key dict."""
    counts: dict[int, int] = {}
    for i in range(DICT_WORK):
        key = i % 1_000
        counts[key] = counts.get(key, 0) + i


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def perf_scenario(config: PerfConfig) -> Scenario:
    """The workloads Kueue's scheduler-perf generator makes for ``config``, in the same shape.

    Each ClusterQueue gets, per class, ``count`` workloads created every ``creation_interval``
    (the n-th at n x interval), named ``<class>-<set>-<n>-0`` as the generator names them.
    """
    scenario = Scenario()
    scenario.flavors["rf"] = ResourceFlavor("rf")
    quotas = {"rf": {"cpu": ResourceQuota(config.nominal_m, config.borrowing_limit_m)}}
    for c in range(config.cohorts):
        cohort = f"cohort-{c}"
        scenario.cohorts[cohort] = Cohort(cohort)
        for q in range(config.queues_per_cohort):
            name = f"cq-0-{q}-{cohort}"
            add_queue(scenario, cluster_queue(name, cohort, quotas), name)
            for set_index, kind in enumerate(config.classes):
                for seq in range(kind.count):
                    scenario.workloads.append(
                        one_pod_workload(
                            name,
                            f"{kind.name}-{set_index}-{seq}-0",
                            name,
                            {"cpu": kind.cpu_millis},
                            priority=kind.priority,
                            submit_at_ms=(seq + 1) * kind.creation_interval_ms,
                            run_for_ms=kind.runtime_ms,
                            document=len(scenario.workloads),
                        )
                    )
    scenario.workloads.sort(key=lambda w: (w.submit_at_ms, w.document))
    return scenario


def usage_percent(twin: Twin, nominal_total: int) -> float:
    """Kueue's recorder: sum over CQs of the integral of cpu usage over nominal x elapsed.

    A workload uses its request from QuotaReserved=True until QuotaReserved=False (evicted)
    or Finished=True. ``elapsed`` runs from the first submission to the last change.
    """
    integral, reserved_at = 0, {}
    for change in twin.ledger:
        if change.type == "QuotaReserved" and change.status == "True":
            reserved_at[change.workload] = change.time_ms
        elif change.workload in reserved_at and change.type in ("QuotaReserved", "Finished"):
            request = twin.runs[change.workload].spec.pod_sets[0].requests["cpu"]
            integral += request * (change.time_ms - reserved_at.pop(change.workload))
    first = min(run.created_ms for run in twin.runs.values())
    last = twin.ledger[-1].time_ms
    for key, since in reserved_at.items():
        integral += twin.runs[key].spec.pod_sets[0].requests["cpu"] * (last - since)
    return 100 * integral / (nominal_total * max(1, last - first))


def admission_ms(twin: Twin, config: PerfConfig) -> dict[str, float]:
    """Average (last Admitted=True transition - creation) per workload class."""
    waits: dict[str, list[int]] = {kind.name: [] for kind in config.classes}
    for run in twin.runs.values():
        admitted = run.conditions.get("Admitted")
        if admitted is not None and admitted.status == "True":
            waits[run.spec.name.split("-")[0]].append(admitted.last_transition_ms - run.created_ms)
    return {kind: sum(w) / len(w) if w else float("nan") for kind, w in waits.items()}


def philly(limit: int | None, baseline: float) -> None:
    start = time.perf_counter()
    quotas = philly_quotas(PHILLY_NODES)
    scenario = load_trace(PHILLY_JOBS, quotas, limit=limit, cohort="philly")
    load = time.perf_counter() - start
    twin = Twin(scenario)
    wall = timed(twin.run)
    n = len(scenario.workloads)
    zero = sum(1 for cq in scenario.cluster_queues if cq not in quotas)
    admitted = sum(1 for run in twin.runs.values() if run.conditions.get("Admitted"))
    finished = sum(1 for run in twin.runs.values() if run.finished_ms is not None)
    print(f"(a) Philly trace replay: {PHILLY_JOBS}" + (f" (first {limit} jobs)" if limit else ""))
    print(
        f"    {n:,} workloads, {len(scenario.cluster_queues)} ClusterQueues in cohort philly "
        f"({len(scenario.cluster_queues) - zero} with nominal from {PHILLY_NODES.name}, "
        f"{zero} at 0 GPUs)"
    )
    print(f"    load {load:.3f} s; replay wall {wall:.3f} s; {n / wall:,.0f} workloads/s")
    print(f"    ratio = twin wall / baseline wall = {wall / baseline:.2f}")
    print(
        f"    admitted {admitted:,}, finished {finished:,}, preemptions {len(twin.preemptions):,}, "
        f"simulated {twin.now_ms / 86_400_000:.1f} days"
    )


def largest_remainder(shares: dict[str, int], total: int) -> dict[str, int]:
    """Whole nodes in proportion to ``shares``, summing to ``total`` (ties by name)."""
    weight = sum(shares.values())
    exact = {team: total * share / weight for team, share in shares.items()}
    counts = {team: int(value) for team, value in exact.items()}
    left = total - sum(counts.values())
    for team in sorted(exact, key=lambda t: (counts[t] - exact[t], t))[:left]:
        counts[team] += 1
    return counts


def philly_fair_share(label: str, nodes: int, limit: int | None, baseline: float) -> None:
    """The Philly trace with fair sharing on and every VC at weight 0, on ``nodes`` nodes.

    Philly's node counts per VC are scaled to ``nodes`` (largest remainder), 8 GPUs a node.
    """
    gpus = philly_quotas(PHILLY_NODES)
    counts = largest_remainder({vc: g // PHILLY_GPUS_PER_NODE for vc, g in gpus.items()}, nodes)
    quotas = {vc: count * PHILLY_GPUS_PER_NODE for vc, count in counts.items()}
    scenario = load_trace(PHILLY_JOBS, quotas, limit=limit, cohort="philly")
    scenario.fair_sharing = True
    scenario.cluster_queues = {
        name: replace(cq, fair_sharing_weight=0.0) for name, cq in scenario.cluster_queues.items()
    }
    twin = Twin(scenario)
    wall = timed(twin.run)
    n = len(scenario.workloads)
    admitted = sum(1 for run in twin.runs.values() if run.conditions.get("Admitted"))
    finished = sum(1 for run in twin.runs.values() if run.finished_ms is not None)
    print(
        f"{label} Philly trace, fair sharing on, every VC at weight 0, {nodes} nodes "
        f"({nodes * PHILLY_GPUS_PER_NODE} GPUs)" + (f", first {limit} jobs" if limit else "")
    )
    print(f"    replay wall {wall:.3f} s; {n / wall:,.0f} workloads/s")
    print(f"    ratio = twin wall / baseline wall = {wall / baseline:.2f}")
    print(
        f"    admitted {admitted:,}, finished {finished:,}, preemptions {len(twin.preemptions):,}, "
        f"thrashes {len(twin.thrashes)}, simulated {twin.now_ms / 86_400_000:.1f} days"
    )


def _row(name: str, twin: float, kueue: tuple[float, float, bool], digits: int = 0) -> None:
    average, threshold, minimum = kueue
    ok = twin >= threshold if minimum else twin <= threshold
    bound = f"{'>=' if minimum else '<='} {threshold:,.{digits}f}"
    print(
        f"    {name:<32}{twin:>12,.{digits}f}{average:>12,.{digits}f}{bound:>14}"
        f"  {'yes' if ok else 'no'}"
    )


def kueue_perf(config: PerfConfig, label: str, baseline: float) -> None:
    start = time.perf_counter()
    scenario = perf_scenario(config)
    build = time.perf_counter() - start
    twin = Twin(scenario)
    wall = timed(twin.run)
    n = len(scenario.workloads)
    admissions = sum(1 for c in twin.ledger if c.type == "Admitted" and c.status == "True")
    usage = usage_percent(twin, len(scenario.cluster_queues) * config.nominal_m)
    print(
        f'{label} Kueue scheduler perf "{config.name}": {config.cohorts} cohorts x '
        f"{config.queues_per_cohort} ClusterQueues, {n:,} workloads"
    )
    print(f"    build {build:.3f} s; replay wall {wall:.3f} s; {n / wall:,.0f} workloads/s")
    print(f"    ratio = twin wall / baseline wall = {wall / baseline:.2f}")
    print(
        f"    admissions {admissions:,}, preemptions {len(twin.preemptions):,}, "
        f"thrashes {len(twin.thrashes)}, simulated {twin.now_ms / 1000:.1f} s"
    )
    print(
        f"    Kueue's wall / twin wall = {config.wall_s[0] / wall:,.0f}x "
        f"(against Kueue's limit {config.wall_s[1] / wall:,.0f}x)"
    )
    print(f"    {'metric':<32}{'twin':>12}{'Kueue avg':>12}{'Kueue limit':>14}  within")
    _row("wall (s)", wall, config.wall_s, 1)
    _row("ClusterQueue usage (%)", usage, config.usage, 1)
    for kind, average in admission_ms(twin, config).items():
        _row(f"avg time to admission {kind} (ms)", average, config.admission_ms[kind])
    print(
        "    (Kueue's times include API latency and its client's 50 QPS limit, at 1 s\n"
        "     resolution; the twin decides instantly, at 1 ms resolution.)"
    )


SCENARIOS = "abcde"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="replay only the first N Philly jobs")
    parser.add_argument(
        "--only",
        default=SCENARIOS,
        help="the scenarios to run, by letter (e.g. 'e' for large-scale alone; default: abcde)",
    )
    args = parser.parse_args()
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"--only: no scenario {', '.join(sorted(unknown))} (choose from {SCENARIOS})")
    baseline = min(timed(dict_work) for _ in range(3))
    configs = perf_configs()
    print(
        f"baseline: {DICT_WORK:,} dict updates in a plain Python loop, best of 3: {baseline:.3f} s"
    )
    runs: dict[str, Callable[[], None]] = {
        "a": lambda: philly(args.limit, baseline),
        "b": lambda: philly_fair_share("(b)", 176, args.limit, baseline),
        "c": lambda: philly_fair_share("(c)", 96, args.limit, baseline),
        "d": lambda: kueue_perf(configs["baseline"], "(d)", baseline),
        "e": lambda: kueue_perf(configs["large-scale"], "(e)", baseline),
    }
    for letter in SCENARIOS:
        if letter in args.only:
            print()
            runs[letter]()


if __name__ == "__main__":
    main()
