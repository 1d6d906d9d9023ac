"""``taskgov recommend``: quotas, borrow limits and fair-share weights from recorded demand.

The jobs come from the DuckDB system of record (``--db``, default the ``duckdb_path``
setting), or from a trace replayed on the twin (``--trace``). Every run read from the database
is stored there (``optimizer.store``) with its inputs, evidence, solver result, plan and
what-if replay; ``--list`` lists the stored runs and ``--show N`` prints one again.

Exit codes: 0 a plan (optimal or feasible), 1 no solution within the time limit, or the
database stays locked (a plan is still printed), 2 bad input, 3 infeasible (the conflicting
constraints are named on stderr).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
import yaml

from optimizer.demand import DemandSource
from optimizer.history import DatabaseError, HistoryDemandSource
from optimizer.plan import PLAN_COLUMNS, Plan, build_plan, overall_lines, plan_rows
from optimizer.recommend import Recommendation, recommend
from optimizer.settings import OptimizerSettings, load_optimizer_settings, optimizer_settings
from optimizer.store import RunSource, RunSummary, list_runs, open_store, read_run, save_run
from optimizer.trace import TraceDemandSource, trace_instance_type
from taskgov.cli.options import output_option
from taskgov.cli.output import dump_json, render_rows
from taskgov.cli.policy import read_files
from taskgov.cli.times import time_bound
from taskgov.errors import Fault, InputError, TaskgovError
from taskgov.policy.compile import priority_class_name
from taskgov.policy.load import policy_and_cluster
from taskgov.policy.model import Cluster, Policy
from taskgov.settings import load_settings
from taskgov.twin.durations import parse_duration_ms

EXIT_NO_SOLUTION = 1
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
CSV_COLUMNS = [
    "team",
    "instance_type",
    "current_nominal",
    "proposed_nominal",
    "current_borrow_limit_pct",
    "proposed_borrow_limit_pct",
    "current_fair_share_weight",
    "proposed_fair_share_weight",
    "why",
]
LIST_COLUMNS = ["run", "created (UTC)", "source", "cluster", "since", "jobs", "status", "changed"]
# Settings that name teams: each must be a team of the policy or of the recorded jobs.
TEAM_SETTINGS = ("floors", "ceilings", "max_change_overrides")


@dataclass(frozen=True, slots=True)
class _Run:
    """What one run stores and prints besides the plan: its source and stored id."""

    source: RunSource
    jobs: int
    run_id: int | None = None
    database: Path | None = None


def _trace_since_s(text: str | None) -> float | None:
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


def _history_since(text: str | None, source: HistoryDemandSource) -> datetime | None:
    """A recorded instant: a duration back from the end of the record, or ISO 8601 (UTC)."""
    return time_bound(text, "--since", lambda: source.watermark)


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


def _check_teams(
    settings: OptimizerSettings, source: str, policy: Policy, recorded: Iterable[str]
) -> None:
    """Every team the settings name has a ComputeQuota or recorded jobs.

    Raises:
        InputError: one fault per unknown team, naming the setting and the known teams.
    """
    in_policy = {q.compute_quota_target.team_name for q in policy.compute_quotas}
    known = in_policy | set(recorded)
    faults = []
    for name in TEAM_SETTINGS:
        for team in getattr(settings, name):
            if team not in known:
                message = (
                    f"unknown team {team}: no ComputeQuota in Policy {policy.name} and no "
                    f"recorded jobs (teams: {', '.join(sorted(known))})"
                )
                faults.append(Fault(source, "optimizer settings", f"{name}.{team}", message))
    if faults:
        raise InputError(faults)


def _team_types(policy: Policy) -> dict[str, str]:
    """Teams whose ComputeQuota names one instance type: that type."""
    types: dict[str, str] = {}
    for quota in policy.active_quotas():
        named = {e.instance_type for e in quota.compute_quota_config.compute_quota_resources}
        if len(named) == 1:
            types[quota.compute_quota_target.team_name] = named.pop()
    return types


def _history_source(
    db: Path, cluster_name: str | None, policy: Policy, cluster: Cluster, instance_type: str | None
) -> HistoryDemandSource:
    """The recorded jobs; a job that never named an instance type gets ``instance_type``, its
    team's only type, or the cluster's only type."""
    several = instance_type is None and len(cluster.instance_counts()) != 1
    return HistoryDemandSource(
        db,
        cluster=cluster_name,
        priority_classes={
            priority_class_name(pc.name): pc.name for pc in policy.scheduler_config.priority_classes
        },
        team_instance_types=_team_types(policy),
        instance_type=None if several else trace_instance_type(cluster, instance_type),
    )


def _database(context: click.Context, db: Path | None) -> Path:
    if db is not None:
        return db
    config_file = (context.find_root().obj or {}).get("config_file")
    return load_settings(config_file).duckdb_path


def _document(plan: Plan, run: _Run | None) -> dict[str, Any]:
    """The plan as data, with where its jobs came from and the stored run's id."""
    document = plan.model_dump(mode="json")
    if run is not None:
        source = run.source
        document["source"] = {
            "kind": source.kind,
            "location": source.location,
            "cluster": source.cluster,
            "origin": source.origin.isoformat() if source.origin else None,
            "since_s": source.since_s,
            "jobs": run.jobs,
        }
        document["run_id"] = run.run_id
    return document


def _source_line(run: _Run) -> str:
    source = run.source
    if source.kind == "trace":
        since = "" if source.since_s is None else f" submitted from {source.since_s:g}s"
        return f"trace {source.location}: {run.jobs} jobs{since}"
    assert source.origin is not None
    since = _since_text(source.origin, source.since_s)
    since = since and f" submitted since {since}"
    return (
        f"history {source.location}, cluster {source.cluster}: {run.jobs} jobs{since}; "
        f"seconds count from {source.origin.isoformat(sep=' ')} UTC"
    )


def _render(plan: Plan, output: str, run: _Run | None = None) -> str:
    if output == "json":
        return dump_json(_document(plan, run))
    if output == "yaml":
        return yaml.safe_dump(_document(plan, run), sort_keys=False)
    if output == "csv":
        return render_rows(_csv_rows(plan), CSV_COLUMNS, "csv")
    phases = ", ".join(
        f"{p.objective} {p.value} ({p.status}, gap {p.gap or 0:.3g}, {p.wall_s:.2f}s)"
        for p in plan.phases
    )
    lines = [f"status: {plan.status}; {phases}"]
    if run is not None and run.source.kind == "duckdb":
        lines.append(_source_line(run))
    lines.append("")
    if plan.conflicts:
        lines.append("no quotas satisfy these constraints together:")
        lines += [f"  {c.constraint}: {c.detail}" for c in plan.conflicts]
    if plan.teams:
        lines.append(render_rows(plan_rows(plan), PLAN_COLUMNS, output).rstrip("\n"))  # type: ignore[arg-type]
    lines += overall_lines(plan)
    commands = [(t.team, t.aws_cli, t.kueue_patch) for t in plan.teams if t.aws_cli]
    if commands:
        lines += ["", "# Apply with the SageMaker API (or, on plain Kueue, the merge patch):"]
        for team, aws, patch in commands:
            lines.append(f"# {team}")
            lines.append(str(aws))
            if patch:
                lines.append(f"# or: {patch}")
    if run is not None and run.run_id is not None:
        lines += ["", f"stored as run {run.run_id} in {run.database} (--show {run.run_id})"]
    return "\n".join(lines) + "\n"


def _csv_rows(plan: Plan) -> list[dict[str, Any]]:
    """One row per team and instance type: current and proposed side by side."""
    rows = []
    for team in plan.teams:
        types = sorted({*team.current.nominal, *team.proposed.nominal})
        for instance_type in types:
            rows.append(
                {
                    "team": team.team,
                    "instance_type": instance_type,
                    "current_nominal": team.current.nominal.get(instance_type, 0),
                    "proposed_nominal": team.proposed.nominal.get(instance_type, 0),
                    "current_borrow_limit_pct": team.current.borrow_limit_pct,
                    "proposed_borrow_limit_pct": team.proposed.borrow_limit_pct,
                    "current_fair_share_weight": team.current.fair_share_weight,
                    "proposed_fair_share_weight": team.proposed.fair_share_weight,
                    "why": "; ".join(team.why),
                }
            )
    return rows


def _since_text(origin: datetime | None, since_s: float | None) -> str:
    """A run's --since: the recorded instant, or seconds on a trace's clock."""
    if since_s is None:
        return ""
    if origin is None:
        return f"{since_s:g}s"
    return (origin + timedelta(seconds=since_s)).isoformat(sep=" ")


def _summary_row(summary: RunSummary) -> dict[str, Any]:
    return {
        "run": summary.run_id,
        "created (UTC)": summary.created_at.isoformat(sep=" ", timespec="seconds"),
        "source": f"{summary.source_kind} {summary.source}",
        "cluster": summary.cluster or "",
        "since": _since_text(summary.origin, summary.since_s),
        "jobs": summary.jobs,
        "status": summary.status,
        "changed": summary.teams_changed,
    }


def _list(db: Path, output: str) -> None:
    with open_store(db, read_only=True) as conn:
        rows = [_summary_row(s) for s in list_runs(conn)]
    click.echo(render_rows(rows, LIST_COLUMNS, output), nl=False)  # type: ignore[arg-type]


def _show(db: Path, run_id: int, output: str) -> None:
    with open_store(db, read_only=True) as conn:
        stored = read_run(conn, run_id)
    run = _Run(stored.source, stored.jobs, stored.run_id, db)
    click.echo(_render(stored.plan, output, run), nl=False)


def _fail(error: TaskgovError) -> click.exceptions.Exit:
    if isinstance(error, InputError):
        for fault in error.faults:
            click.echo(f"error: {fault}", err=True)
    else:
        click.echo(f"error: {error}", err=True)
    return click.exceptions.Exit(error.exit_code)


@click.command("recommend")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="YAML with the Cluster and today's Policy (see `taskgov policy --help`).",
)
@click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="TASKGOV_DUCKDB_PATH",
    help="The DuckDB system of record: the history read, where runs are stored "
    "(default: the duckdb_path setting).",
)
@click.option("--cluster", "cluster_name", help="Recorded cluster to read (default: the only one).")
@click.option(
    "--trace",
    "trace_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read a job trace instead of the database (.csv or .parquet; Philly columns vc, "
    "arrival_time_s, num_gpus, est_duration_s), replayed on the twin; stored only with --db.",
)
@click.option(
    "--since",
    help="Only jobs submitted from then on: from the database, a duration back from the end "
    "of the record (720h) or an ISO 8601 time; from a trace, seconds or a duration.",
)
@click.option(
    "--instance-type",
    help="Instance type of jobs that name none: every trace job; recorded jobs never given a "
    "flavor (default: the team's only type, else the cluster's only one).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Read only the trace's first N jobs.")
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
@click.option("--no-store", is_flag=True, help="Do not store the run in the database.")
@click.option("--list", "list_stored", is_flag=True, help="List the runs stored in --db.")
@click.option("--show", "show_run", type=click.IntRange(min=1), help="Print stored run N again.")
@output_option()
@click.pass_context
def recommend_command(
    context: click.Context,
    policy_file: Path | None,
    db: Path | None,
    cluster_name: str | None,
    trace_file: Path | None,
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
    no_store: bool,
    list_stored: bool,
    show_run: int | None,
    output: str,
) -> None:
    """Recommend nominal quotas, BorrowLimits and FairShareWeights from recorded demand.

    \b
    The jobs come from the DuckDB system of record the worker fills (--db), or from a
    trace replayed on the twin under today's policy (--trace). CP-SAT then covers each
    team's sustained demand within its guarantee, keeps peak demand from waiting beside
    idle capacity, and changes as little as it can; the proposal is replayed on the twin
    to show its effect. The plan lists, per team, current -> proposed, why, the expected
    effect and the aws sagemaker call. Runs read from the database are stored there:
    --list lists them, --show N prints one again.
    """
    try:
        if list_stored or show_run is not None:
            path = _database(context, db)
            if show_run is not None:
                _show(path, show_run, output)
            else:
                _list(path, output)
            return
        if policy_file is None:
            raise InputError([Fault("--policy", "", "", "is required to recommend")])
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
        policy, _, cluster = policy_and_cluster(read_files((policy_file,)))
        source: DemandSource
        if trace_file is not None:
            if cluster_name is not None:
                raise InputError(
                    [Fault("--cluster", "", "", "reads the database: not with --trace")]
                )
            source = TraceDemandSource(
                trace_file, policy, cluster, instance_type=instance_type, limit=limit
            )
            since_s = _trace_since_s(since)
            run_source = RunSource("trace", str(trace_file), since_s=since_s)
            store = db
        else:
            if limit is not None:
                raise InputError([Fault("--limit", "", "", "reads a trace: give --trace")])
            store = _database(context, db)
            history = _history_source(store, cluster_name, policy, cluster, instance_type)
            since_at = _history_since(since, history)
            since_s = None if since_at is None else history.seconds(since_at)
            run_source = RunSource(
                "duckdb", str(store), history.cluster, history.origin, since_s=since_s
            )
            source = history
        jobs = source.jobs(since_s=since_s)
        _check_teams(settings, str(settings_file or "flags"), policy, jobs["team"].unique())
        rec = recommend(source, policy, cluster, settings, since_s=since_s, replay=not no_replay)
        if isinstance(source, HistoryDemandSource):
            for team, count in source.unplaced.items():
                click.echo(
                    f"note: {count} job(s) of {team} never named an instance type and were "
                    "left out (--instance-type names one)",
                    err=True,
                )
        plan = build_plan(rec, settings)
        run = _Run(run_source, rec.profile.job_waits.height)
    except TaskgovError as error:
        raise _fail(error) from None
    unstored: DatabaseError | None = None
    if store is not None and not no_store:
        try:
            run = _store(store, rec, plan, settings, run)
        except DatabaseError as error:
            unstored = error
    _finish(plan, output, run, unstored)


def _store(
    path: Path, rec: Recommendation, plan: Plan, settings: OptimizerSettings, run: _Run
) -> _Run:
    """Store the run (whatever its status) and return it with its id."""
    with open_store(path) as conn:
        run_id = save_run(conn, rec, plan, settings, run.source)
    return _Run(run.source, run.jobs, run_id, path)


def _finish(plan: Plan, output: str, run: _Run, unstored: DatabaseError | None) -> None:
    """Print the plan, or the conflicts, and exit with the status's code (1 when the plan
    could not be stored)."""
    if unstored is not None:
        click.echo(f"error: the run was not stored (--no-store skips it): {unstored}", err=True)
    if plan.status == "infeasible":
        click.echo("error: infeasible: no quotas satisfy these constraints together:", err=True)
        for conflict in plan.conflicts:
            click.echo(f"  {conflict.constraint}: {conflict.detail}", err=True)
        if run.run_id is not None:
            click.echo(f"note: stored as run {run.run_id} in {run.database}", err=True)
        if output not in ("table", "wide"):
            click.echo(_render(plan, output, run), nl=False)
        raise click.exceptions.Exit(EXIT_INFEASIBLE)
    if plan.status not in ("optimal", "feasible"):
        click.echo(
            f"error: the solver found no solution ({plan.status}); raise --time-limit", err=True
        )
        if run.run_id is not None:
            click.echo(f"note: stored as run {run.run_id} in {run.database}", err=True)
        raise click.exceptions.Exit(EXIT_NO_SOLUTION)
    click.echo(_render(plan, output, run), nl=False)
    if unstored is not None:
        raise click.exceptions.Exit(unstored.exit_code)
