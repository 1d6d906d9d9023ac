"""Twin benchmarks: the Philly trace replay and Kueue's scheduler perf "baseline" scenario.

Run ``.venv/bin/python bench/twin.py [--limit N]``. Every wall time is also printed as a ratio
to a fixed amount of plain-Python dict work timed in the same process, so figures from
different (or noisy) machines can be compared.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from taskgov.settings import PHILLY_JOBS as PHILLY_JOBS_FILE
from taskgov.settings import PHILLY_NODES as PHILLY_NODES_FILE
from taskgov.settings import data_file, load_settings
from taskgov.twin.engine import Twin
from taskgov.twin.objects import (
    ClusterQueue,
    Cohort,
    FlavorQuotas,
    LocalQueue,
    PodSet,
    Preemption,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuota,
    WorkloadSpec,
)
from taskgov.twin.scenario import Scenario, stable_uid
from taskgov.twin.trace import load_trace, philly_quotas

# The packaged Philly files, or those under TASKGOV_DATA_DIR.
DATA = load_settings().data_dir
PHILLY_JOBS, PHILLY_NODES = data_file(DATA, PHILLY_JOBS_FILE), data_file(DATA, PHILLY_NODES_FILE)
DICT_WORK = 2_000_000

# Kueue's scheduler perf "baseline" (test/performance/scheduler/configs/baseline/).
COHORTS, QUEUES_PER_COHORT, NOMINAL_M, BORROWING_LIMIT_M = 5, 6, 20_000, 100_000
# class: (count, creation interval ms, cpu millis, priority, runtime ms)
CLASSES = {
    "small": (350, 100, 1_000, 50, 200),
    "medium": (100, 500, 5_000, 100, 500),
    "large": (50, 1_200, 20_000, 200, 1_000),
}
# Kueue v0.19 rangespec: (measured average, threshold, True if the threshold is a minimum).
KUEUE_WALL_S = (351.1, 425.0, False)
KUEUE_USAGE = (55.9, 50.0, True)
KUEUE_ADMISSION_MS = {
    "large": (16_501.0, 23_000.0, False),
    "medium": (76_768.0, 90_000.0, False),
    "small": (215_468.0, 260_000.0, False),
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


def kueue_baseline_scenario() -> Scenario:
    """5 cohorts x 6 ClusterQueues, 500 workloads per ClusterQueue, as Kueue's generator."""
    scenario = Scenario()
    scenario.flavors["rf"] = ResourceFlavor("rf")
    quota = ResourceQuota(NOMINAL_M, borrowing_limit=BORROWING_LIMIT_M)
    group = ResourceGroup(("cpu",), (FlavorQuotas("rf", {"cpu": quota}),))
    preemption = Preemption(within_cluster_queue="LowerPriority", reclaim_within_cohort="Any")
    for c in range(COHORTS):
        cohort = f"cohort-{c}"
        scenario.cohorts[cohort] = Cohort(cohort)
        for q in range(QUEUES_PER_COHORT):
            name = f"cq-0-{q}-{cohort}"
            scenario.cluster_queues[name] = ClusterQueue(
                name, cohort, (group,), preemption=preemption
            )
            scenario.local_queues[(name, name)] = LocalQueue(name, name, name)
            for set_index, (kind, (count, every, cpu, priority, runtime)) in enumerate(
                CLASSES.items()
            ):
                for seq in range(count):
                    wl = f"{kind}-{set_index}-{seq}-0"
                    scenario.workloads.append(
                        WorkloadSpec(
                            namespace=name,
                            name=wl,
                            uid=stable_uid(name, wl),
                            queue_name=name,
                            priority=priority,
                            priority_class=None,
                            pod_sets=(PodSet("main", 1, {"cpu": cpu}),),
                            submit_at_ms=(seq + 1) * every,
                            run_for_ms=runtime,
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


def admission_ms(twin: Twin) -> dict[str, float]:
    """Average (last Admitted=True transition - creation) per workload class."""
    waits: dict[str, list[int]] = {kind: [] for kind in CLASSES}
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


def _row(name: str, twin: float, kueue: tuple[float, float, bool], digits: int = 0) -> None:
    average, threshold, minimum = kueue
    ok = twin >= threshold if minimum else twin <= threshold
    bound = f"{'>=' if minimum else '<='} {threshold:,.{digits}f}"
    print(
        f"    {name:<32}{twin:>12,.{digits}f}{average:>12,.{digits}f}{bound:>14}"
        f"  {'yes' if ok else 'no'}"
    )


def kueue_baseline(baseline: float) -> None:
    start = time.perf_counter()
    scenario = kueue_baseline_scenario()
    build = time.perf_counter() - start
    twin = Twin(scenario)
    wall = timed(twin.run)
    n = len(scenario.workloads)
    admissions = sum(1 for c in twin.ledger if c.type == "Admitted" and c.status == "True")
    usage = usage_percent(twin, len(scenario.cluster_queues) * NOMINAL_M)
    print(
        f'(b) Kueue scheduler perf "baseline": {COHORTS} cohorts x {QUEUES_PER_COHORT} '
        f"ClusterQueues, {n:,} workloads"
    )
    print(f"    build {build:.3f} s; replay wall {wall:.3f} s; {n / wall:,.0f} workloads/s")
    print(f"    ratio = twin wall / baseline wall = {wall / baseline:.2f}")
    print(
        f"    admissions {admissions:,}, preemptions {len(twin.preemptions):,}, "
        f"simulated {twin.now_ms / 1000:.1f} s"
    )
    print(f"    {'metric':<32}{'twin':>12}{'Kueue avg':>12}{'Kueue limit':>14}  within")
    _row("wall (s)", wall, KUEUE_WALL_S, 1)
    _row("ClusterQueue usage (%)", usage, KUEUE_USAGE, 1)
    for kind, average in admission_ms(twin).items():
        _row(f"avg time to admission {kind} (ms)", average, KUEUE_ADMISSION_MS[kind])
    print(
        "    (Kueue's times include API latency and its client's 50 QPS limit, at 1 s\n"
        "     resolution; the twin decides instantly, at 1 ms resolution.)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="replay only the first N Philly jobs")
    args = parser.parse_args()
    baseline = min(timed(dict_work) for _ in range(3))
    print(
        f"baseline: {DICT_WORK:,} dict updates in a plain Python loop, best of 3: {baseline:.3f} s"
    )
    print()
    philly(args.limit, baseline)
    print()
    kueue_baseline(baseline)


if __name__ == "__main__":
    main()
