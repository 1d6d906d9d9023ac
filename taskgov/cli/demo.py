"""``taskgov demo``: the seed's example on embedded defaults, narrated."""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path

import click

from taskgov.cli.demo_live import play_live
from taskgov.cli.output import render_rows
from taskgov.cli.report import report_command
from taskgov.errors import Fault, InputError
from taskgov.policy.load import read_documents
from taskgov.settings import PHILLY_JOBS, PHILLY_NODES, data_file, load_settings
from taskgov.twin.durations import format_duration_ms
from taskgov.twin.engine import Twin
from taskgov.twin.render import TABLE_COLUMNS, workload_rows
from taskgov.twin.scenario import build_scenario
from taskgov.twin.trace import load_trace, philly_quotas

DEFAULT_SPEED = 300.0
TRACE_SPEED = 172_800.0  # two simulated days a wall second
SEED_POLICY = "data/seed/policy.yaml"
SEED_SCENARIO = "data/seed/scenario.yaml"


def seed_policy_text() -> str:
    return resources.files("taskgov").joinpath(SEED_POLICY).read_text()


def seed_scenario_text() -> str:
    return resources.files("taskgov").joinpath(SEED_SCENARIO).read_text()


def _borrowed_accelerators(twin: Twin, key: str) -> str:
    run = twin.runs[key]
    node = twin.nodes[run.cluster_queue]
    usage = run.running.usage if run.running else {}
    return "".join(
        f", borrowing {node.usage[fr] - node.nominal(fr)} {fr[1]} in flavor {fr[0]}"
        for fr in usage
        if fr[1] not in ("cpu", "memory") and node.usage.get(fr, 0) > node.nominal(fr)
    )


def narrate_step(twin: Twin, since: int, job_names: dict[str, str]) -> list[str]:
    """What happened to the jobs since ledger entry ``since``, from the twin's own ledger.

    Admissions and evictions in order, then the last reason each job still waits for.
    """
    lines = []
    waiting: dict[str, str] = {}
    for change in twin.ledger[since:]:
        job = job_names.get(change.workload, change.workload)
        if change.type == "Admitted" and change.status == "True":
            queue = twin.runs[change.workload].cluster_queue
            borrowed = _borrowed_accelerators(twin, change.workload)
            lines.append(f"{job} is admitted in ClusterQueue {queue}{borrowed}.")
            waiting.pop(job, None)
        elif change.type == "Preempted" and change.status == "True":
            lines.append(f"{job} is evicted: Preempted, reason {change.reason}: {change.message}")
        elif change.type == "QuotaReserved" and change.message.startswith("couldn't assign"):
            if "Pending the preemption" not in change.message:
                waiting[job] = change.message
    return lines + [f"{job} waits: {message}" for job, message in sorted(waiting.items())]


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
@click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    help="DuckDB file the live part writes (default: a new temporary one).",
)
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
def demo_command(
    offline: bool, speed: float, db: Path | None, trace: str | None, jobs: int | None
) -> None:
    """Play the HyperPod task-governance example on the twin, step by step.

    The cluster and policy are the ones the example creates with the AWS CLI
    (4 ml.g5.8xlarge; team-a and team-b with 2 each, LendAndBorrow, BorrowLimit 50;
    four priority classes). Job 1 (team-a, 3 instances), Job 2 (team-b, 2 instances) and
    Job 3 (team-b, 2 instances, higher priority) arrive at 0s, 5m and 10m; after each the
    demo shows what Kueue decided and `kubectl get workloads` per namespace.

    Then the live spine: a local Kafka broker, the twin serving the Kubernetes API in sped-up
    real time, and the watcher streaming every transition into Kafka, read back as it flows.

    With --trace philly the same spine plays the Philly trace (15,264 jobs over 125 days;
    --speed defaults to two simulated days a wall second), then prints the reports.
    Days count from today.
    """
    if trace is not None:
        _play_trace(trace, jobs, speed if speed != DEFAULT_SPEED else TRACE_SPEED, db)
        return
    if jobs is not None:
        raise click.UsageError("--jobs needs --trace")
    documents = read_documents(seed_scenario_text(), f"taskgov:{SEED_SCENARIO}")
    scenario = build_scenario(documents)
    twin = Twin(scenario)
    job_names = {spec.key: f"Job {n} ({spec.name})" for n, spec in enumerate(scenario.workloads, 1)}
    namespaces = sorted({spec.namespace for spec in scenario.workloads})
    columns = TABLE_COLUMNS
    for step, spec in enumerate(scenario.workloads, 1):
        since = len(twin.ledger)
        twin.run(spec.submit_at_ms)
        click.echo(
            f"== t={format_duration_ms(twin.now_ms)}: Job {step} is submitted to {spec.namespace}"
        )
        for line in narrate_step(twin, since, job_names):
            click.echo(f"  {line}")
        for namespace in namespaces:
            click.echo(f"\n$ kubectl get workloads -n {namespace}")
            click.echo(render_rows(workload_rows(twin, namespace), columns, "table"), nl=False)  # type: ignore[arg-type]
        click.echo("")
    if offline:
        return
    click.echo("== The same scenario, live: twin API server -> watcher -> Kafka")
    db_path = _fresh_db(db)
    count = play_live(build_scenario(documents), speed, db_path)
    click.echo(f"== {count} workload events reached Kafka")
    _show_reports(db_path, ("utilization", "preemptions", "pending_now"))


def _play_trace(trace: str, jobs: int | None, speed: float, db: Path | None) -> None:
    data_dir = load_settings().data_dir
    jobs_file, nodes_file = (data_file(data_dir, name) for name in (PHILLY_JOBS, PHILLY_NODES))
    for path in (jobs_file, nodes_file):
        if not path.is_file():
            message = f"{path} is missing (TASKGOV_DATA_DIR names the folder of the traces)"
            raise InputError([Fault("--trace", trace, "data_dir", message)])
    scenario = load_trace(jobs_file, philly_quotas(nodes_file), limit=jobs, cohort="philly")
    click.echo(
        f"== The {trace} trace, live: {len(scenario.workloads):,} jobs of "
        f"{len(scenario.cluster_queues)} teams, twin API server -> watcher -> Kafka -> worker"
    )
    db_path = _fresh_db(db)
    count = play_live(scenario, speed, db_path, show_events=False)
    click.echo(f"== {count:,} workload events reached Kafka")
    _show_reports(db_path, ("wait_times", "preemptions"))
    click.echo(f"\nMore: taskgov report --list; taskgov report utilization --db {db_path}")


def _fresh_db(db: Path | None) -> Path:
    db_path = db or Path(tempfile.mkdtemp(prefix="taskgov-demo-")) / "taskgov.duckdb"
    if db_path.exists():
        db_path.unlink()
    return db_path


def _show_reports(db_path: Path, reports: tuple[str, ...]) -> None:
    for report in reports:
        click.echo(f"\n$ taskgov report {report} --db {db_path}")
        context = click.get_current_context()
        context.invoke(
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
