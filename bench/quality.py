"""Forward evaluation of the recommender against every simple policy, on any trace.

``.venv/bin/python bench/quality.py --trace FILE --policy POLICY.yaml [--capacities 1,0.5,0.25]
[--origins N] [--window-days D] [--fair-share on,off] [-o table|json]``

Rolling origins over the trace (history: every job before the origin; future: the next
window), at each capacity (fractions of the policy's cluster) and FairShare setting: the
recommender sees the history only; today's policy, every baseline and the recommendation
(``recommended``) are replayed on the twin over the same future jobs. The harness is
``optimizer.evaluate``; this file only reads the inputs and prints. The trace is any file
``taskgov recommend --trace`` reads (Philly-style CSV/Parquet, or an Alibaba openb pod list).
Each run is printed as it ends (tables), so a long run can be followed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

# bench/optimizer.py would shadow the optimizer package: drop this file's folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from optimizer.evaluate.harness import Run, evaluate  # noqa: E402
from optimizer.evaluate.report import COLUMNS, run_document, summary, table_rows  # noqa: E402
from optimizer.settings import OptimizerSettings, SolverSettings  # noqa: E402
from optimizer.trace import read_trace, trace_instance_type  # noqa: E402
from taskgov.cli.output import render_rows  # noqa: E402
from taskgov.policy.load import policy_and_cluster, read_documents  # noqa: E402


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def _toggles(text: str) -> list[bool]:
    return [part.strip() == "on" for part in text.split(",") if part.strip()]


def _print_run(run: Run) -> None:
    fair_share = "on" if run.fair_share else "off"
    print(
        f"\n{run.trace}: future {run.origin_s / 86400:.1f}-{run.end_s / 86400:.1f} d, "
        f"{run.capacity_instances} instances, FairShare {fair_share}; recommended = "
        f"{run.chosen}"
    )
    print(render_rows(table_rows(run), COLUMNS, "table").rstrip("\n"), flush=True)


def _print_summary(groups: list[dict[str, Any]]) -> None:
    for group in groups:
        fair_share = "on" if group["fair_share"] else "off"
        print(
            f"\n{group['trace']}, {group['capacity_instances']} instances, FairShare "
            f"{fair_share}, summed over {group['windows']} windows "
            "(p95 wait h, starved team-h, preempted GPU-h):"
        )
        for name, v in group["summed"].items():
            print(
                f"  {name:<28}{v['wait_p95_s'] / 3600:>10,.1f}{v['starved_team_h']:>12,.1f}"
                f"{v['preempted_gpu_h']:>12,.1f}"
            )
        beaten = {k: v for k, v in group["beaten_in"].items() if v}
        print(f"  beaten (all three at once) in: {beaten or 'no window'}")
        print(
            f"  not >=30% better on one and <=5% worse on the others than: "
            f"{group['not_won_against'] or 'none'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, required=True)
    parser.add_argument("--policy", type=Path, required=True)
    parser.add_argument("--capacities", default="1,0.5,0.25")
    parser.add_argument("--origins", type=int, default=4)
    parser.add_argument(
        "--window-days", type=float, help="future length (default: to the next origin)"
    )
    parser.add_argument("--fair-share", default="off,on", help="on, off or both")
    parser.add_argument("--instance-type", help="the type trace jobs run on")
    parser.add_argument("--time-limit", type=float, default=10.0, help="CP-SAT s per phase")
    parser.add_argument("-o", "--output", choices=("table", "json"), default="table")
    args = parser.parse_args()
    policy, _, cluster = policy_and_cluster(
        read_documents(args.policy.read_text(), str(args.policy))
    )
    instance_type = trace_instance_type(cluster, args.instance_type)
    workloads = read_trace(args.trace, instance_type=instance_type)
    settings = OptimizerSettings(
        max_change_instances=sum(cluster.instance_counts().values()),
        solver=SolverSettings(time_limit_s=args.time_limit, num_workers=2),
    )
    started = time.perf_counter()
    runs = evaluate(
        args.trace.name,
        workloads,
        policy,
        cluster,
        settings,
        capacities=_floats(args.capacities),
        origin_count=args.origins,
        window_s=None if args.window_days is None else args.window_days * 86400,
        fair_share=_toggles(args.fair_share),
        progress=_print_run if args.output == "table" else None,
    )
    groups = summary(runs)
    if args.output == "json":
        document = {"runs": [run_document(r) for r in runs], "summary": groups}
        json.dump(document, sys.stdout, indent=1, default=str)
        print()
        return
    _print_summary(groups)
    print(f"\n{len(runs)} runs in {time.perf_counter() - started:,.0f} s")


if __name__ == "__main__":
    main()
