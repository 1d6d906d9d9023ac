"""Forward evaluation of the recommender against every simple policy, on any trace.

``.venv/bin/python bench/quality.py --trace FILE --policy POLICY.yaml [--capacities 1,0.5,0.25]
[--origins N] [--window-days D] [--fair-share on,off] [--settings FILE] [--replay-cache DIR]
[-o table|json|markdown]``
``.venv/bin/python bench/quality.py --from-json RUN.json [RUN.json ...] [-o table|markdown]``

Rolling origins over the trace (history: every job before the origin; future: the next
window), at each capacity (fractions of the policy's cluster) and FairShare setting: the
recommender sees the history only; today's policy, every baseline and the recommendation
(``recommended``) are replayed on the twin over the same future jobs. The harness is
``optimizer.evaluate``; this file only reads the inputs and prints. The trace is any file
``taskgov recommend --trace`` reads (Philly-style CSV/Parquet, or an Alibaba openb pod list).
Each run is printed as it ends (tables), so a long run can be followed.

``--settings`` reads the recommender's settings (``taskgov recommend --settings``; CP-SAT on 2
workers and no change cap unless the file says otherwise), to compare recommenders on the same
windows. ``--replay-cache DIR`` keeps every replay's result in DIR, keyed by the jobs, the
policy and the cluster: the baselines' replays do not depend on the recommender, so a rerun
with other recommender settings replays only what changed (most of a run's time otherwise).
``--from-json`` prints earlier ``-o json`` outputs again (the README's tables are
``-o markdown`` of the runs it names), without replaying anything.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

# bench/optimizer.py would shadow the optimizer package: drop this file's folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from optimizer.evaluate.harness import RECOMMENDED, Run, evaluate  # noqa: E402
from optimizer.evaluate.report import (  # noqa: E402
    COLUMNS,
    grouped,
    run_document,
    run_from_document,
    summary,
    summed_rows,
    table_rows,
)
from optimizer.replay import ReplayResult, replay  # noqa: E402
from optimizer.robust import Replayer, twin_replay  # noqa: E402
from optimizer.settings import (  # noqa: E402
    OptimizerSettings,
    SolverSettings,
    load_optimizer_settings,
)
from optimizer.trace import read_trace, trace_instance_type  # noqa: E402
from taskgov.cli.output import render_rows  # noqa: E402
from taskgov.policy.load import policy_and_cluster, read_documents  # noqa: E402
from taskgov.policy.model import Cluster, Policy  # noqa: E402


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def _toggles(text: str) -> list[bool]:
    return [part.strip() == "on" for part in text.split(",") if part.strip()]


def cached_replayer(folder: Path) -> Replayer:
    """A replayer that keeps each replay's history in ``folder``, keyed by a digest of the
    jobs, the policy and the cluster (a replay is deterministic in those)."""
    folder.mkdir(parents=True, exist_ok=True)

    def replay_cached(
        workloads: pl.DataFrame, policy: Policy, cluster: Cluster, name: str
    ) -> ReplayResult:
        jobs = io.BytesIO()
        workloads.write_ipc(jobs)
        digest = hashlib.sha256(jobs.getvalue())
        digest.update(policy.model_dump_json().encode())
        digest.update(cluster.model_dump_json().encode())
        path = folder / f"{digest.hexdigest()}.arrow"
        if path.exists():
            return ReplayResult(name, policy, pl.read_ipc(path))
        result = replay(workloads, policy, cluster, name=name)
        result.history.write_ipc(path)
        return result

    return replay_cached


def _settings(path: Path | None, cluster: Cluster, time_limit_s: float) -> OptimizerSettings:
    """The recommender's settings: the file's, with the bench's defaults where it sets none."""
    loaded = OptimizerSettings() if path is None else load_optimizer_settings(path)
    defaults = {
        "max_change_instances": sum(cluster.instance_counts().values()),
        "solver": SolverSettings(time_limit_s=time_limit_s, num_workers=2),
    }
    return loaded.model_copy(
        update={k: v for k, v in defaults.items() if k not in loaded.model_fields_set}
    )


def _print_run(run: Run) -> None:
    fair_share = "on" if run.fair_share else "off"
    print(
        f"\n{run.trace}: future {run.origin_s / 86400:.1f}-{run.end_s / 86400:.1f} d, "
        f"{run.capacity_instances} instances, FairShare {fair_share}; recommended = "
        f"{run.chosen}"
    )
    print(render_rows(table_rows(run), COLUMNS, "table").rstrip("\n"), flush=True)


def _markdown(rows: list[dict[str, str]]) -> str:
    """Rows as a Markdown table (the README carries these), numbers right-aligned."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "| --- |" + " ---: |" * (len(COLUMNS) - 1)]
    for row in rows:
        cells = [f"**{row[c]}**" if row["policy"] == RECOMMENDED else row[c] for c in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _print_summary(runs: list[Run], groups: list[dict[str, Any]], markdown: bool) -> None:
    """Per trace, capacity and FairShare setting: every policy over the windows, side by
    side, and the verdicts."""
    for runs_of_group, group in zip(grouped(runs).values(), groups, strict=True):
        fair_share = "on" if group["fair_share"] else "off"
        starts = ", ".join(f"{run.origin_s / 86400:.1f}" for run in runs_of_group)
        chosen = sorted({run.chosen for run in runs_of_group})
        title = f"{group['trace']}, {group['capacity_instances']} instances, FairShare {fair_share}"
        print(
            f"\n{f'**{title}**' if markdown else title}, {group['windows']} windows "
            f"(starting at day {starts}; waits: the "
            f"windows' mean; starved, preempted, never ran: totals); recommended from: "
            f"{', '.join(chosen)}\n"
        )
        rows = summed_rows(runs_of_group)
        print(_markdown(rows) if markdown else render_rows(rows, COLUMNS, "table").rstrip("\n"))
        beaten = {k: v for k, v in group["beaten_in"].items() if v}
        print(f"\nBeaten on all three at once in: {beaten or 'no window'}.")
        print(
            "Summed, not >= 30 % better on one and <= 5 % worse on the others than: "
            f"{', '.join(group['not_won_against']) or 'none'}."
        )


def _runs_from_json(paths: list[Path]) -> list[Run]:
    """The runs of earlier ``-o json`` outputs, to print them again without replaying."""
    return [
        run_from_document(doc) for path in paths for doc in json.loads(path.read_text())["runs"]
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path)
    parser.add_argument("--policy", type=Path)
    parser.add_argument("--capacities", default="1,0.5,0.25")
    parser.add_argument("--origins", type=int, default=4)
    parser.add_argument(
        "--window-days", type=float, help="future length (default: to the next origin)"
    )
    parser.add_argument("--fair-share", default="off,on", help="on, off or both")
    parser.add_argument("--instance-type", help="the type trace jobs run on")
    parser.add_argument("--time-limit", type=float, default=10.0, help="CP-SAT s per phase")
    parser.add_argument("--settings", type=Path, help="the recommender's settings (YAML)")
    parser.add_argument("--replay-cache", type=Path, help="keep and reuse replays in DIR")
    parser.add_argument(
        "--from-json", type=Path, nargs="+", help="print earlier -o json outputs again"
    )
    parser.add_argument("-o", "--output", choices=("table", "json", "markdown"), default="table")
    return parser


def _evaluated(args: argparse.Namespace) -> list[Run]:
    """Every run of the trace's windows, printed as each ends with ``-o table``."""
    policy, _, cluster = policy_and_cluster(
        read_documents(args.policy.read_text(), str(args.policy))
    )
    instance_type = trace_instance_type(cluster, args.instance_type)
    workloads = read_trace(args.trace, instance_type=instance_type)
    settings = _settings(args.settings, cluster, args.time_limit)
    replayer = twin_replay if args.replay_cache is None else cached_replayer(args.replay_cache)
    return evaluate(
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
        replayer=replayer,
    )


def main() -> None:
    parser = _parser()
    args = parser.parse_args()
    if args.from_json is None and (args.trace is None or args.policy is None):
        parser.error("--trace and --policy are required (or --from-json)")
    started = time.perf_counter()
    runs = _runs_from_json(args.from_json) if args.from_json else _evaluated(args)
    groups = summary(runs)
    if args.output == "json":
        document = {"runs": [run_document(r) for r in runs], "summary": groups}
        json.dump(document, sys.stdout, indent=1, default=str)
        print()
        return
    _print_summary(runs, groups, markdown=args.output == "markdown")
    print(f"\n{len(runs)} runs in {time.perf_counter() - started:,.0f} s")


if __name__ == "__main__":
    main()
