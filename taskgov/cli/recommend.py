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

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
import yaml

from optimizer.history import HistoryDemandSource
from optimizer.plan import PLAN_COLUMNS, Plan, build_plan, overall_lines, plan_rows
from optimizer.recommend import Recommendation, recommend
from optimizer.settings import OptimizerSettings
from optimizer.store import RunSource, RunSummary, list_runs, open_store, read_run, save_run
from taskgov.cli.options import database_path
from taskgov.cli.output import dump_json, render_rows
from taskgov.cli.recommend_inputs import (
    Demand,
    RecommendRequest,
    check_teams,
    read_demand,
    read_policy,
    recommend_options,
)
from taskgov.errors import DatabaseError, InputError, TaskgovError
from taskgov.policy.model import Cluster, Policy

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


@dataclass(frozen=True, slots=True)
class _Run:
    """What one run stores and prints besides the plan.

    Attributes:
        source: where its jobs came from (the database and cluster, or a trace).
        jobs: how many jobs the demand profile read.
        run_id: its id once stored (``--show`` takes it); None while unstored.
        database: the DuckDB file it is stored in.
    """

    source: RunSource
    jobs: int
    run_id: int | None = None
    database: Path | None = None


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
    if run is not None and run.run_id is not None:
        lines += ["", f"stored as run {run.run_id} in {run.database} (--show {run.run_id})"]
        if any(t.changed for t in plan.teams):
            lines.append(
                f"apply it: taskgov apply {run.run_id} prints the exact calls with the live ids "
                "and versions (a dry run); --approve makes them"
            )
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
@recommend_options
@click.pass_context
def recommend_command(context: click.Context, **flags: Any) -> None:
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
    request = RecommendRequest(**flags)
    try:
        if request.list_stored or request.show_run is not None:
            _stored_runs(database_path(context, request.db), request)
            return
        settings = request.settings()
        policy, cluster = read_policy(request)
        demand = read_demand(context, request, policy, cluster)
        rec, plan = _solve(request, settings, policy, cluster, demand)
    except TaskgovError as error:
        raise _fail(error) from None
    run = _Run(demand.run_source, rec.profile.job_waits.height)
    unstored: DatabaseError | None = None
    if demand.store is not None and not request.no_store:
        try:
            run = _store(demand.store, rec, plan, settings, run)
        except DatabaseError as error:
            unstored = error
    _finish(plan, request.output, run, unstored)


def _stored_runs(path: Path, request: RecommendRequest) -> None:
    """--show N prints a stored run again; --list lists them."""
    if request.show_run is not None:
        _show(path, request.show_run, request.output)
    else:
        _list(path, request.output)


def _solve(
    request: RecommendRequest,
    settings: OptimizerSettings,
    policy: Policy,
    cluster: Cluster,
    demand: Demand,
) -> tuple[Recommendation, Plan]:
    """Profile the demand, solve, replay, and plan (phases of ``optimizer.recommend``)."""
    jobs = demand.source.jobs(since_s=demand.since_s)
    source_name = str(request.settings_file or "flags")
    check_teams(settings, source_name, policy, jobs["team"].unique())
    rec = recommend(
        demand.source,
        policy,
        cluster,
        settings,
        since_s=demand.since_s,
        replay=not request.no_replay,
    )
    if isinstance(demand.source, HistoryDemandSource):
        for team, count in demand.source.unplaced.items():
            click.echo(
                f"note: {count} job(s) of {team} never named an instance type and were "
                "left out (--instance-type names one)",
                err=True,
            )
    return rec, build_plan(rec, settings)


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
