"""``taskgov recommend``: quotas, borrow limits and fair-share weights from recorded demand.

Exit codes: 0 a plan (optimal or feasible), 1 no solution within the time limit, 2 bad input,
3 infeasible (the conflicting constraints are named on stderr).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from optimizer.plan import PLAN_COLUMNS, Plan, build_plan, plan_rows
from optimizer.recommend import recommend
from optimizer.settings import OptimizerSettings, load_optimizer_settings, optimizer_settings
from optimizer.trace import TraceDemandSource
from taskgov.cli.output import dump_json, render_rows
from taskgov.cli.policy import read_files
from taskgov.errors import Fault, InputError
from taskgov.policy.load import policy_and_cluster
from taskgov.twin.durations import parse_duration_ms

EXIT_NO_SOLUTION = 1
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3


def _since_s(text: str | None) -> float | None:
    """Seconds from the trace's start: a number of seconds or a duration such as ``720h``."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_duration_ms(text) / 1000
    except ValueError as error:
        raise InputError([Fault("--since", "", "", str(error))]) from None


def _settings(settings_file: Path | None, overrides: dict[str, Any]) -> OptimizerSettings:
    """Settings from the file, then the flags that were given."""
    base = load_optimizer_settings(settings_file) if settings_file else OptimizerSettings()
    data = base.model_dump()
    solver = dict(data.pop("solver"))
    for key, value in overrides.items():
        if value is None:
            continue
        if key.startswith("solver."):
            solver[key.removeprefix("solver.")] = value
        else:
            data[key] = value
    return optimizer_settings({**data, "solver": solver}, "flags")


def _render(plan: Plan, output: str) -> str:
    if output == "json":
        return dump_json(plan.model_dump(mode="json"))
    if output == "yaml":
        import yaml

        return yaml.safe_dump(plan.model_dump(mode="json"), sort_keys=False)
    phases = ", ".join(
        f"{p.objective} {p.value} ({p.status}, gap {p.gap or 0:.3g}, {p.wall_s:.2f}s)"
        for p in plan.phases
    )
    lines = [f"status: {plan.status}; {phases}", ""]
    lines.append(render_rows(plan_rows(plan), PLAN_COLUMNS, "table").rstrip("\n"))
    for name, numbers in plan.overall.items():
        shown = ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in numbers.items()
        )
        lines.append(f"replay {name}: {shown}")
    commands = [(t.team, t.aws_cli, t.kueue_patch) for t in plan.teams if t.aws_cli]
    if commands:
        lines += ["", "# Apply with the SageMaker API (or, on plain Kueue, the merge patch):"]
        for team, aws, patch in commands:
            lines.append(f"# {team}")
            lines.append(str(aws))
            if patch:
                lines.append(f"# or: {patch}")
    return "\n".join(lines) + "\n"


@click.command("recommend")
@click.option(
    "--trace",
    "trace_file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Job trace (.csv or .parquet; Philly columns vc, arrival_time_s, num_gpus, "
    "est_duration_s).",
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    required=True,
    help="YAML with the Cluster and today's Policy (see `taskgov policy --help`).",
)
@click.option("--since", help="Only jobs submitted from this time on (seconds, or e.g. 720h).")
@click.option(
    "--instance-type", help="Instance type the trace's jobs run on (default: the only one)."
)
@click.option("--limit", type=click.IntRange(min=1), help="Read only the first N jobs.")
@click.option(
    "--settings",
    "settings_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="YAML optimizer settings: percentiles, floors, ceilings, change caps, solver.",
)
@click.option("--sustained-percentile", type=float, help="Demand percentile nominal covers.")
@click.option("--peak-percentile", type=float, help="Demand percentile borrowing reaches.")
@click.option("--max-change", type=click.IntRange(min=0), help="Instances per team and type.")
@click.option("--max-teams-changed", type=click.IntRange(min=0), help="Teams changed per run.")
@click.option("--solver-params", help='More CP-SAT parameters, "name:value,name:value".')
@click.option("--seed", type=click.IntRange(min=0), help="CP-SAT random_seed (default 0).")
@click.option("--time-limit", type=float, help="Seconds per solver phase (default 10).")
@click.option("--workers", type=click.IntRange(min=1), help="CP-SAT workers (default 8).")
@click.option("--no-replay", is_flag=True, help="Skip the twin replay of current vs proposed.")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json", "yaml"]),
    default="table",
    show_default=True,
)
def recommend_command(
    trace_file: Path,
    policy_file: Path,
    since: str | None,
    instance_type: str | None,
    limit: int | None,
    settings_file: Path | None,
    sustained_percentile: float | None,
    peak_percentile: float | None,
    max_change: int | None,
    max_teams_changed: int | None,
    solver_params: str | None,
    seed: int | None,
    time_limit: float | None,
    workers: int | None,
    no_replay: bool,
    output: str,
) -> None:
    """Recommend nominal quotas, BorrowLimits and FairShareWeights from a job trace.

    \b
    The trace is replayed on the twin under today's policy to get the recorded history;
    CP-SAT then covers each team's sustained demand within its guarantee, keeps peak
    demand from waiting beside idle capacity, and changes as little as it can; the
    proposal is replayed on the twin to show its effect. The plan lists, per team,
    current -> proposed, why, the expected effect and the aws sagemaker call.
    """
    try:
        policy, _, cluster = policy_and_cluster(read_files((policy_file,)))
        settings = _settings(
            settings_file,
            {
                "sustained_percentile": sustained_percentile,
                "peak_percentile": peak_percentile,
                "max_change_instances": max_change,
                "max_teams_changed": max_teams_changed,
                "solver.params": solver_params,
                "solver.seed": seed,
                "solver.time_limit_s": time_limit,
                "solver.num_workers": workers,
            },
        )
        source = TraceDemandSource(
            trace_file, policy, cluster, instance_type=instance_type, limit=limit
        )
        rec = recommend(
            source, policy, cluster, settings, since_s=_since_s(since), replay=not no_replay
        )
    except InputError as error:
        for fault in error.faults:
            click.echo(f"error: {fault}", err=True)
        raise click.exceptions.Exit(EXIT_BAD_INPUT) from None
    plan = build_plan(rec, settings)
    if plan.status == "infeasible":
        click.echo("error: infeasible: no quotas satisfy these constraints together:", err=True)
        for conflict in plan.conflicts:
            click.echo(f"  {conflict.constraint}: {conflict.detail}", err=True)
        if output != "table":
            click.echo(_render(plan, output), nl=False)
        raise click.exceptions.Exit(EXIT_INFEASIBLE)
    if plan.status not in ("optimal", "feasible"):
        click.echo(
            f"error: the solver found no solution ({plan.status}); raise --time-limit", err=True
        )
        raise click.exceptions.Exit(EXIT_NO_SOLUTION)
    click.echo(_render(plan, output), nl=False)
