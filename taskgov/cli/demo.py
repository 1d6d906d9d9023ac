"""``taskgov demo``: the seed's example on embedded defaults, narrated.

The demo keeps its record where every other command looks by default (the ``duckdb_path``
setting, ``.taskgov/taskgov.duckdb``) and ends with commands to try on it. It replaces only a
record it wrote itself (noted in ``STATE_DIR/demo.json``), never one the worker wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

import click

from taskgov.cli.demo_apply import recommend_and_apply
from taskgov.cli.demo_live import play_live
from taskgov.cli.demo_story import narrate_step, setup_lines, story_jobs
from taskgov.cli.options import db_option, state_dir_option
from taskgov.cli.output import render_rows
from taskgov.cli.report import report_command
from taskgov.errors import Fault, InputError
from taskgov.policy.load import Document, policy_and_cluster, read_documents
from taskgov.scenarios import scenario_from_documents
from taskgov.settings import PHILLY_JOBS, PHILLY_NODES, data_file, load_settings
from taskgov.twin.durations import format_duration_ms
from taskgov.twin.engine import Twin
from taskgov.twin.render import TABLE_COLUMNS, workload_rows
from taskgov.twin.scenario import Scenario
from taskgov.twin.trace import load_trace, philly_quotas

DEFAULT_SPEED = 300.0
TRACE_SPEED = 172_800.0  # two simulated days a wall second
SEED_POLICY = "data/seed/policy.yaml"
SEED_SCENARIO = "data/seed/scenario.yaml"
# How long after each submission the story looks at the cluster (Kueue admits a preemptor
# a cycle after its victims are evicted, and requeues parked jobs a second after).
SETTLE_MS = 60_000
SEED_REPORTS = ("utilization", "starvation", "preemptions", "pending_now")
TRACE_REPORTS = ("wait_times", "preemptions")
DEMO_RECORD = "demo.json"


def seed_policy_text() -> str:
    return resources.files("taskgov").joinpath(SEED_POLICY).read_text()


def seed_scenario_text() -> str:
    return resources.files("taskgov").joinpath(SEED_SCENARIO).read_text()


def seed_policy_path() -> Path:
    """The seed's policy file as a user can type it: relative when under the working dir."""
    path = Path(str(resources.files("taskgov").joinpath(SEED_POLICY)))
    return _as_typed(path)


def _as_typed(path: Path) -> Path:
    relative = Path(os.path.relpath(path.resolve()))
    return path.resolve() if relative.parts[:1] == ("..",) else relative


@click.command("demo")
@click.option(
    "--offline", is_flag=True, help="Only the narrated twin run: no broker, API server or watcher."
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_SPEED,
    show_default=True,
    help=f"Simulated seconds per wall second for the live part ({TRACE_SPEED:g} with --trace).",
)
@db_option
@click.option(
    "--trace",
    metavar="philly",
    type=click.Choice(["philly"]),
    help="Play a real cluster trace instead of the example: philly (Microsoft Philly jobs "
    "per VC, quotas from its VC node counts), shipped with taskgov (or under the data_dir "
    "setting).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="With --trace: only the first N jobs by submission time.",
)
@state_dir_option
@click.pass_context
def demo_command(
    context: click.Context,
    offline: bool,
    speed: float,
    db: Path | None,
    trace: str | None,
    jobs: int | None,
    state_dir: Path,
) -> None:
    """Play the HyperPod task-governance example on the twin, step by step.

    The cluster and policy are the ones the example creates with the AWS CLI
    (4 ml.g5.8xlarge; team-a and team-b with 2 each, LendAndBorrow, BorrowLimit 50;
    four priority classes). Job 1 (team-a, 3 instances), Job 2 (team-b, 2 instances) and
    Job 3 (team-b, 2 instances, higher priority) arrive at 0s, 5m and 10m; after each the
    demo shows what Kueue decided and `kubectl get workloads` per namespace.

    Then the live spine: a local Kafka broker, the twin serving the Kubernetes API in sped-up
    real time, the watcher streaming every transition into Kafka, the worker storing them in
    DuckDB, and the reports on that record; last, commands to try on it.

    With --trace philly the same spine plays the Philly trace (15,264 jobs over 125 days;
    --speed defaults to two simulated days a wall second), then prints the reports.
    """
    if jobs is not None and trace is None:
        raise click.UsageError("--jobs needs --trace")
    config_file = (context.find_root().obj or {}).get("config_file")
    settings = load_settings(config_file)
    if trace is not None:
        scenario = _trace_scenario(trace, jobs, settings.data_dir)
        db_path = _demo_database(db or settings.duckdb_path, state_dir)
        trace_speed = speed if speed != DEFAULT_SPEED else TRACE_SPEED
        _play_trace(trace, scenario, trace_speed, db_path, state_dir)
        _show_reports(db_path, settings.duckdb_path, TRACE_REPORTS)
        _next_commands(db_path, settings.duckdb_path, TRACE_REPORTS)
        return
    record = None if offline else _demo_database(db or settings.duckdb_path, state_dir)
    documents = read_documents(seed_scenario_text(), f"taskgov:{SEED_SCENARIO}")
    _narrate(scenario_from_documents(documents), documents)
    if record is None:
        return
    click.echo("== The same scenario, live: twin API server -> watcher -> Kafka -> worker")
    count = play_live(
        scenario_from_documents(documents), speed=speed, db_path=record, state_dir=state_dir
    )
    click.echo(f"== {count} workload events reached Kafka")
    _show_reports(record, settings.duckdb_path, SEED_REPORTS)
    with tempfile.TemporaryDirectory(prefix="taskgov-demo-") as workdir:
        recommend_and_apply(documents, seed_policy_path(), record, Path(workdir))
    _next_commands(record, settings.duckdb_path, SEED_REPORTS)


def _narrate(scenario: Scenario, documents: list[Document]) -> None:
    """The set-up, then each job's arrival and `kubectl get workloads` a minute later."""
    policy, _, cluster = policy_and_cluster(documents)
    jobs = story_jobs(scenario.workloads, policy)
    for line in setup_lines(policy, cluster, jobs):
        click.echo(line)
    twin = Twin(scenario)
    job_names = {job.spec.key: job.label for job in jobs}
    namespaces = sorted({job.spec.namespace for job in jobs})
    for job in jobs:
        after = [j.spec.submit_at_ms for j in jobs if j.spec.submit_at_ms > job.spec.submit_at_ms]
        look_at = min([job.spec.submit_at_ms + SETTLE_MS, *(t - 1 for t in after)])
        since = len(twin.ledger)
        twin.run(look_at)
        click.echo(
            f"== t={format_duration_ms(job.spec.submit_at_ms)}: Job {job.number} is submitted "
            f"to {job.spec.namespace}"
        )
        for line in narrate_step(twin, since, job_names):
            click.echo(f"  {line}")
        for namespace in namespaces:
            at = format_duration_ms(look_at)
            click.echo(f"\n$ kubectl get workloads -n {namespace}    # at t={at}")
            rows = workload_rows(twin, namespace)
            click.echo(render_rows(rows, TABLE_COLUMNS, "table"), nl=False)  # type: ignore[arg-type]
        click.echo("")


def _trace_scenario(trace: str, jobs: int | None, data_dir: Path) -> Scenario:
    jobs_file, nodes_file = (data_file(data_dir, name) for name in (PHILLY_JOBS, PHILLY_NODES))
    for path in (jobs_file, nodes_file):
        if not path.is_file():
            message = f"{path} is missing (TASKGOV_DATA_DIR names the folder of the traces)"
            raise InputError([Fault("--trace", trace, "data_dir", message)])
    return load_trace(jobs_file, philly_quotas(nodes_file), limit=jobs, cohort="philly")


def _play_trace(
    trace: str, scenario: Scenario, speed: float, db_path: Path, state_dir: Path
) -> None:
    click.echo(
        f"== The {trace} trace, live: {len(scenario.workloads):,} jobs of "
        f"{len(scenario.cluster_queues)} teams, twin API server -> watcher -> Kafka -> worker"
    )
    count = play_live(
        scenario, speed=speed, db_path=db_path, state_dir=state_dir, show_events=False
    )
    click.echo(f"== {count:,} workload events reached Kafka")


def _demo_database(path: Path, state_dir: Path) -> Path:
    """``path``, emptied for the demo: only a record an earlier demo wrote is replaced.

    Raises:
        InputError: ``path`` holds a record the demo did not write.
    """
    note = state_dir / DEMO_RECORD
    written = json.loads(note.read_text()).get("db") if note.is_file() else None
    if path.exists() and written != str(path.resolve()):
        message = (
            "holds a record the demo did not write; give the demo another --db FILE, or "
            "remove this one"
        )
        raise InputError([Fault("--db", str(path), "", message)])
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    note.write_text(json.dumps({"db": str(path.resolve())}) + "\n")
    return path


def _db_flag(db_path: Path, default_db: Path) -> str:
    """`` --db PATH`` unless the other commands find the record without it."""
    if db_path.resolve() == default_db.resolve():
        return ""
    return f" --db {_as_typed(db_path)}"


def _show_reports(db_path: Path, default_db: Path, reports: tuple[str, ...]) -> None:
    for report in reports:
        click.echo(f"\n$ taskgov report {report}{_db_flag(db_path, default_db)}")
        click.get_current_context().invoke(
            report_command,
            name=report,
            list_reports=False,
            since=None,
            until=None,
            team=None,
            db=db_path,
            output="table",
            out=None,
        )


def program_name() -> str:
    """How the user can run taskgov again: ``taskgov`` when that is on PATH, else its path."""
    script = Path(sys.argv[0])
    on_path = shutil.which("taskgov")
    if script.name == "taskgov":
        if on_path and Path(on_path).resolve() == script.resolve():
            return "taskgov"
        return str(_as_typed(script))
    return "taskgov" if on_path else f"{sys.executable} -m taskgov.cli"


def _next_commands(db_path: Path, default_db: Path, shown: tuple[str, ...]) -> None:
    """Commands to try on the record; each works as printed (tests/cli/test_demo.py runs them)."""
    taskgov, db = program_name(), _db_flag(db_path, default_db)
    query = "SELECT team, count(*) AS events FROM workload_events GROUP BY team ORDER BY team"
    commands = [
        (f"{taskgov} report --list", "what else the record can tell"),
        (f"{taskgov} report pending_now -o wide{db}", "why jobs wait, messages in full"),
        (f"{taskgov} report wait_times{db}", "p50/p95/p99 waits per team and priority class"),
        (f'{taskgov} sql "{query}"{db}', "your own question, in SQL"),
        (f"{taskgov} alerts --dry-run --min-minutes 1{db}", "the starvation alerts it would send"),
    ]
    if "utilization" in shown:
        commands.append(
            (
                f"{taskgov} recommend --policy {seed_policy_path()}{db}",
                "quotas, BorrowLimits and weights from this record",
            )
        )
        commands.append((f"{taskgov} apply --history{db}", "what the demo applied, and who"))
    click.echo(f"\n== Next, on the record in {_as_typed(db_path)}:")
    width = max(len(command) for command, _ in commands)
    for command, why in commands:
        click.echo(f"  {command.ljust(width)}  # {why}")
