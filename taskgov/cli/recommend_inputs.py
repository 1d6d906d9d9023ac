"""What ``taskgov recommend`` reads: its flags as one request, the settings, the policy and
the demand (the DuckDB record or a trace).

The command's options are declared here once, as data, and click hands them to the command
as one :class:`RecommendRequest`, so no function takes twenty flags.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from optimizer.demand import DemandSource
from optimizer.history import HistoryDemandSource
from optimizer.settings import OptimizerSettings, load_optimizer_settings, optimizer_settings
from optimizer.store import RunSource
from optimizer.trace import TraceDemandSource, trace_instance_type
from taskgov.cli.options import database_path, db_option, output_option
from taskgov.cli.policy import read_files
from taskgov.errors import Fault, InputError
from taskgov.policy.compile import priority_class_name
from taskgov.policy.load import policy_and_cluster
from taskgov.policy.model import Cluster, Policy
from taskgov.times import time_bound
from taskgov.twin.durations import parse_duration_ms

F = TypeVar("F", bound=Callable[..., Any])
# Settings that name teams: each must be a team of the policy or of the recorded jobs.
TEAM_SETTINGS = ("floors", "ceilings", "max_change_overrides")


@dataclass(frozen=True, slots=True)
class RecommendRequest:
    """Every flag of ``taskgov recommend``, as given (None: not given)."""

    policy_file: Path | None
    db: Path | None
    cluster_name: str | None
    trace_file: Path | None
    since: str | None
    instance_type: str | None
    limit: int | None
    settings_file: Path | None
    sustained_percentile: float | None
    peak_percentile: float | None
    max_change: int | None
    max_teams_changed: int | None
    solver_params: str | None
    seed: int | None
    time_limit: float | None
    workers: int | None
    no_replay: bool
    no_store: bool
    list_stored: bool
    show_run: int | None
    output: str

    def settings(self) -> OptimizerSettings:
        """The --settings file (or the defaults), then the flags that were given.

        Raises:
            InputError: a setting is unknown or out of range.
        """
        flags = {
            "sustained_percentile": self.sustained_percentile,
            "peak_percentile": self.peak_percentile,
            "max_change_instances": self.max_change,
            "max_teams_changed": self.max_teams_changed,
        }
        solver_flags = {
            "params": self.solver_params,
            "seed": self.seed,
            "time_limit_s": self.time_limit,
            "num_workers": self.workers,
        }
        file = self.settings_file
        base = load_optimizer_settings(file) if file else OptimizerSettings()
        data = base.model_dump()
        solver = dict(data.pop("solver"))
        data.update((k, v) for k, v in flags.items() if v is not None)
        solver.update((k, v) for k, v in solver_flags.items() if v is not None)
        return optimizer_settings({**data, "solver": solver}, "flags")


@dataclass(frozen=True, slots=True)
class Demand:
    """Where the jobs come from, how the run records it, and where it is stored."""

    source: DemandSource
    run_source: RunSource
    since_s: float | None
    store: Path | None


_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--policy",
        "policy_file",
        type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
        help="YAML with the Cluster and today's Policy (see `taskgov policy --help`).",
    ),
    db_option,
    click.option("--cluster", "cluster_name", help="Recorded cluster (default: the only one)."),
    click.option(
        "--trace",
        "trace_file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Read a job trace instead of the database (.csv, .csv.gz or .parquet; Philly "
        "columns vc, arrival_time_s, num_gpus, est_duration_s), replayed on the twin; stored "
        "only with --db.",
    ),
    click.option(
        "--since",
        help="Only jobs submitted from then on: from the database, a duration back from the "
        "end of the record (720h) or an ISO 8601 time; from a trace, seconds or a duration.",
    ),
    click.option(
        "--instance-type",
        help="Instance type of jobs that name none: every trace job; recorded jobs never given "
        "a flavor (default: the team's only type, else the cluster's only one).",
    ),
    click.option("--limit", type=click.IntRange(min=1), help="Read only the trace's first N jobs."),
    click.option(
        "--settings",
        "settings_file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="YAML optimizer settings: percentiles, floors, ceilings, change caps, solver.",
    ),
    click.option("--sustained-percentile", type=float, help="Demand percentile nominal covers."),
    click.option("--peak-percentile", type=float, help="Demand percentile borrowing reaches."),
    click.option("--max-change", type=click.IntRange(min=0), help="Instances per team and type."),
    click.option("--max-teams-changed", type=click.IntRange(min=0), help="Teams changed per run."),
    click.option("--solver-params", help='More CP-SAT parameters, "name:value,name:value".'),
    click.option("--seed", type=click.IntRange(min=0), help="CP-SAT random_seed (default 0)."),
    click.option("--time-limit", type=float, help="Seconds per solver phase (default 10)."),
    click.option("--workers", type=click.IntRange(min=1), help="CP-SAT workers (default 8)."),
    click.option("--no-replay", is_flag=True, help="Skip the twin replay of current vs proposed."),
    click.option("--no-store", is_flag=True, help="Do not store the run in the database."),
    click.option("--list", "list_stored", is_flag=True, help="List the runs stored in --db."),
    click.option("--show", "show_run", type=click.IntRange(min=1), help="Print stored run N."),
    output_option(),
]


def recommend_options(command: F) -> F:
    """Every option of ``taskgov recommend``, in the order --help lists them."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def read_demand(
    context: click.Context, request: RecommendRequest, policy: Policy, cluster: Cluster
) -> Demand:
    """The jobs to recommend from: the trace when given, else the database.

    Raises:
        InputError: flags of the other source, a bad --since, an unreadable trace or record.
    """
    if request.trace_file is not None:
        if request.cluster_name is not None:
            raise InputError([Fault("--cluster", "", "", "reads the database: not with --trace")])
        source = TraceDemandSource(
            request.trace_file,
            policy,
            cluster,
            instance_type=request.instance_type,
            limit=request.limit,
        )
        since_s = _trace_since_s(request.since)
        run_source = RunSource("trace", str(request.trace_file), since_s=since_s)
        return Demand(source, run_source, since_s, request.db)
    if request.limit is not None:
        raise InputError([Fault("--limit", "", "", "reads a trace: give --trace")])
    store = database_path(context, request.db)
    history = _history_source(store, request, policy, cluster)
    since_at = time_bound(request.since, "--since", lambda: history.watermark)
    since_s = None if since_at is None else history.seconds(since_at)
    run_source = RunSource("duckdb", str(store), history.cluster, history.origin, since_s=since_s)
    return Demand(history, run_source, since_s, store)


def read_policy(request: RecommendRequest) -> tuple[Policy, Cluster]:
    """The --policy file's Policy and Cluster.

    Raises:
        InputError: no --policy, or the file is not a valid policy.
    """
    if request.policy_file is None:
        raise InputError([Fault("--policy", "", "", "is required to recommend")])
    policy, _, cluster = policy_and_cluster(read_files((request.policy_file,)))
    return policy, cluster


def check_teams(
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


def _team_types(policy: Policy) -> dict[str, str]:
    """Teams whose ComputeQuota names one instance type: that type."""
    types: dict[str, str] = {}
    for quota in policy.active_quotas():
        named = {e.instance_type for e in quota.compute_quota_config.compute_quota_resources}
        if len(named) == 1:
            types[quota.compute_quota_target.team_name] = named.pop()
    return types


def _history_source(
    db: Path, request: RecommendRequest, policy: Policy, cluster: Cluster
) -> HistoryDemandSource:
    """The recorded jobs; a job that never named an instance type gets --instance-type, its
    team's only type, or the cluster's only type."""
    instance_type = request.instance_type
    several = instance_type is None and len(cluster.instance_counts()) != 1
    return HistoryDemandSource(
        db,
        cluster=request.cluster_name,
        priority_classes={
            priority_class_name(pc.name): pc.name for pc in policy.scheduler_config.priority_classes
        },
        team_instance_types=_team_types(policy),
        instance_type=None if several else trace_instance_type(cluster, instance_type),
    )
