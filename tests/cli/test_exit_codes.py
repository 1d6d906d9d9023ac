"""Every subcommand's exit code, through the installed ``taskgov`` console script.

Cron, CI and the Helm CronJob read nothing but the exit code, so it is tested where they see
it: the ``taskgov`` script pip installed, run in a subprocess (click's test runner skips
``main()``, which turns results and errors into codes). 0 ok, 1 runtime failure, 2 bad input
or usage, 3 infeasible; ``broker status`` exits 1 unless the broker runs.

The cases are independent, so they run concurrently once per module and each test reads its
outcome: the cost is Python starting ~40 times, shared by the machine's cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from streams.sink_duckdb import DuckDBSink
from taskgov.cli.demo import seed_policy_text, seed_scenario_text
from tests.sql.scenarios import seed_events

# What one run of the script left: its returncode, stdout and stderr.
Outcome = subprocess.CompletedProcess[str]
TASKGOV = str(Path(sys.executable).with_name("taskgov"))


@dataclass(frozen=True, slots=True)
class Case:
    """``taskgov ARGS`` in a fresh directory; ``{name}`` in an argument is a fixture file.

    ``want_line`` is one whole line that stdout or stderr must hold.
    """

    args: tuple[str, ...]
    want_code: int
    want_line: str


def case(args: str, want_code: int, want_line: str, id: str) -> object:  # noqa: A002
    return pytest.param(Case(tuple(args.split()), want_code, want_line), id=id)


NO_BROKER = (
    "error: no Kafka broker configured (no .taskgov/broker.json): run `taskgov broker start` "
    "or set TASKGOV_KAFKA_BOOTSTRAP=host:port"
)
SEED_CHECK = "{policy}#1 (Policy example-cluster-scheduler-config): valid"

CASES = [
    # The entry point.
    case("--help", 0, "Usage: taskgov [OPTIONS] COMMAND [ARGS]...", "help exits 0"),
    case("", 2, "Usage: taskgov [OPTIONS] COMMAND [ARGS]...", "no subcommand is a usage error"),
    case("nosuch", 2, "Error: No such command 'nosuch'.", "an unknown subcommand exits 2"),
    case("--version", 0, "taskgov 0.1.0", "the version exits 0"),
    case(
        "--config {missing} policy compile {policy}",
        2,
        "error: {missing}: cannot read: No such file or directory",
        "an unreadable settings file exits 2",
    ),
    # catalog
    case("catalog -o csv", 0, "ml.g5.8xlarge,nvidia.com/gpu,1,A10G,32,128", "catalog lists"),
    case(
        "catalog -o xml",
        2,
        "Error: Invalid value for '-o' / '--output': 'xml' is not one of 'table', 'json', "
        "'yaml', 'csv', 'wide'.",
        "catalog rejects an unknown format",
    ),
    # policy
    case(
        "policy validate {policy}",
        0,
        f"{SEED_CHECK} (2 active allocations, 4 priority classes)",
        "a valid policy",
    ),
    case(
        "policy validate {overallocated}",
        2,
        "error: {overallocated}#1 (Policy example-cluster-scheduler-config), Cluster "
        "example-cluster: field ml.g5.8xlarge nvidia.com/gpu: allocations guarantee 6 "
        "(team-a 3, team-b 3) but 4 instances have 4",
        "a policy guaranteeing more than the cluster has exits 2",
    ),
    case(
        "policy validate {missing}",
        2,
        "error: {missing}: cannot read: No such file or directory",
        "a policy file that does not exist exits 2",
    ),
    case("policy compile {policy}", 0, "kind: ResourceFlavor", "a policy compiles"),
    case(
        "policy compile {policy} -o csv",
        0,
        "ClusterQueue,kueue.x-k8s.io/v1beta2,,hyperpod-ns-team-a-clusterqueue",
        "a policy's objects listed",
    ),
    case(
        "policy compile --api-version v1 {policy}",
        2,
        "Error: Invalid value for '--api-version': 'v1' is not one of 'v1beta1', 'v1beta2'.",
        "an unknown Kueue API version exits 2",
    ),
    # twin
    case(
        "twin run {scenario} -o csv",
        0,
        "hyperpod-ns-team-b,pytorchjob-imagenet-gpu-team-b-2-8cfee,"
        "hyperpod-ns-team-b-localqueue,hyperpod-ns-team-b-clusterqueue,True,,1s",
        "a scenario plays",
    ),
    case(
        "twin run {scenario} --until soon",
        2,
        "error: --until: 'soon' is not a duration like 90s, 1h30m or 500ms",
        "an --until that is no duration exits 2",
    ),
    case(
        "twin run {missing}",
        2,
        "error: {missing}: cannot read: No such file or directory",
        "a scenario file that does not exist exits 2",
    ),
    case(
        "twin serve {scenario} --speed 0",
        2,
        "error: --speed: must be positive, got 0.0",
        "a twin served at speed 0 exits 2",
    ),
    # broker (the lifecycle with a running broker is its own test below)
    case("broker stop", 0, "no broker recorded in .taskgov; nothing to stop", "stop when none"),
    case("broker status -o csv", 1, "absent,,,,,.taskgov", "status exits 1 when no broker runs"),
    case(
        "broker status -o xml",
        2,
        "Error: Invalid value for '-o' / '--output': 'xml' is not one of 'table', 'json', "
        "'yaml', 'csv', 'wide'.",
        "broker status rejects an unknown format",
    ),
    # watch and worker
    case("watch", 1, NO_BROKER, "watch without a broker exits 1"),
    case(
        "watch --api-version v2",
        2,
        "Error: Invalid value for '--api-version': 'v2' is not one of 'v1beta1', 'v1beta2'.",
        "watch rejects an unknown Kueue API version",
    ),
    case("worker", 1, NO_BROKER, "the worker without a broker exits 1"),
    case(
        "worker --batch-size 0",
        2,
        "Error: Invalid value for '--batch-size': 0 is not in the range x>=1.",
        "the worker rejects an empty batch",
    ),
    # report and sql
    case("report --list -o csv", 0, "name,parameters,answers", "the reports are listed"),
    case(
        "report utilization --db {seed_db} -o csv",
        0,
        "2025-01-01,team-b,ml.g5.8xlarge,0.333,0.167,0.167,0.0,0.083,0.083,50.0",
        "a report on the seed's record",
    ),
    case(
        "report utilization",
        2,
        "error: --db, .taskgov/taskgov.duckdb: no such database",
        "a report without a database exits 2",
    ),
    case(
        "report utilization --db {garbage_db}",
        1,
        'error: {garbage_db}: cannot open read-only: IO Error: The file "{garbage_db}" '
        "exists, but it is not a valid DuckDB database file!",
        "a file that is no database exits 1",
    ),
    case(
        "report nosuch --db {seed_db}",
        2,
        "error: report, nosuch: unknown report; available: idle_capacity, pending_causes, "
        "pending_now, preemptions, starvation, utilization, wait_times",
        "an unknown report exits 2",
    ),
    case(
        "report utilization --db {seed_db} --since yesterday",
        2,
        "error: --since, yesterday: expected a duration back from the end of the record (e.g. "
        "720h) or an ISO 8601 date or time (e.g. 2024-05-01 or 2024-05-01T12:00Z)",
        "a --since that is neither duration nor time exits 2",
    ),
    case(
        "report utilization --db {seed_db} --since 5m -o csv",
        0,
        "2025-01-01,team-b,ml.g5.8xlarge,0.167,0.167,0.167,0.0,0.0,0.0,100.0",
        "a report over the record's last 5 minutes",
    ),
    case(
        "report utilization --db {seed_db} --until 9999-12-31T23:00-05:00",
        2,
        "error: --until, 9999-12-31T23:00-05:00: reaches after the year 9999: give a time "
        "within the calendar",
        "an --until past the calendar exits 2",
    ),
    case(
        "recommend --policy {policy} --db {seed_db} --since 20000000h",
        2,
        "error: --since, 20000000h: reaches before the year 1: give a time within the calendar",
        "a --since before the calendar exits 2",
    ),
    case(
        "report utilization --db {seed_db} -o parquet",
        2,
        "error: -o parquet: parquet is binary: give --out FILE",
        "parquet without --out exits 2",
    ),
    case("sql {count_events} --db {seed_db} -o csv", 0, "17", "a query on the seed's record"),
    case(
        "sql {delete_events} --db {seed_db}",
        2,
        "error: sql: only SELECT is allowed, found DELETE",
        "a query that writes exits 2",
    ),
    # recommend
    case(
        "recommend --policy {policy} --db {seed_db} --no-store --workers 1 -o csv",
        0,
        "team,instance_type,current_nominal,proposed_nominal,current_borrow_limit_pct,"
        "proposed_borrow_limit_pct,current_fair_share_weight,proposed_fair_share_weight,why",
        "a recommendation from the seed's record",
    ),
    case(
        "recommend --db {seed_db} --workers 1",
        2,
        "error: --policy: is required to recommend",
        "recommend without a policy exits 2",
    ),
    case(
        "recommend --policy {policy}",
        2,
        "error: --db, .taskgov/taskgov.duckdb: no such database",
        "recommend without a database exits 2",
    ),
    case(
        "recommend --policy {policy} --db {seed_db} --time-limit -1",
        2,
        "error: flags, optimizer settings: field solver.time_limit_s: Input should be greater "
        "than 0",
        "a negative time limit exits 2",
    ),
    case(
        "recommend --policy {policy} --db {seed_db} --no-store --workers 1 --settings {floors}",
        3,
        "error: infeasible: no quotas satisfy these constraints together:",
        "floors beyond the cluster are infeasible: exit 3",
    ),
    case(
        "recommend --show 9 --db {seed_db}",
        2,
        "error: --show, 9: no such run (no runs are stored)",
        "showing a run that does not exist exits 2",
    ),
    # alerts
    case(
        "alerts --dry-run --db {seed_db} --min-minutes 1 -o csv",
        0,
        "team-a,ml.g5.8xlarge,2025-01-01T00:05:00,5,0.167,3.0,2.0,2025-01-01T00:10:00",
        "alerts evaluated on the seed's record",
    ),
    case("alerts --db {seed_db}", 1, NO_BROKER, "alerts without a broker exit 1"),
    case(
        "alerts --dry-run --lookback soon --db {seed_db}",
        2,
        "error: --lookback, soon: 'soon' is not a duration like 90s, 1h30m or 500ms",
        "alerts reject a lookback that is no duration",
    ),
    # demo
    case("demo --offline", 0, "== t=0s: Job 1 is submitted to hyperpod-ns-team-a", "demo"),
    case("demo --jobs 3", 2, "Error: --jobs needs --trace", "--jobs without a trace exits 2"),
    case(
        "demo --trace alibaba-pai",
        2,
        "Error: Invalid value for '--trace': 'alibaba-pai' is not 'philly'.",
        "an unknown trace exits 2",
    ),
]


def _fixture_files(directory: Path) -> dict[str, str]:
    """The files the cases name, written once: the seed's policy, scenario and record."""
    policy = directory / "policy.yaml"
    policy.write_text(seed_policy_text())
    scenario = directory / "scenario.yaml"
    scenario.write_text(seed_scenario_text())
    overallocated = directory / "overallocated.yaml"
    overallocated.write_text(seed_policy_text().replace("Count=2", "Count=3"))
    seed_db = directory / "seed.duckdb"
    with DuckDBSink(seed_db) as sink:
        sink.add_all(seed_events())
        sink.flush()
    garbage_db = directory / "garbage.duckdb"
    garbage_db.write_text("not a database\n")
    floors = directory / "floors.yaml"
    floors.write_text(yaml.safe_dump({"floors": {"team-a": {"*": 3}, "team-b": {"*": 3}}}))
    return {
        "policy": str(policy),
        "scenario": str(scenario),
        "overallocated": str(overallocated),
        "seed_db": str(seed_db),
        "garbage_db": str(garbage_db),
        "floors": str(floors),
        "missing": str(directory / "missing.yaml"),
        # One argument each, so the case table can split on spaces.
        "count_events": "SELECT count(*) AS events FROM workload_events",
        "delete_events": "DELETE FROM workload_events",
    }


def _clean_env() -> dict[str, str]:
    """The environment without TASKGOV_* settings, so the cases see the defaults."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TASKGOV_")}


def _run(case: Case, files: dict[str, str], workdir: Path) -> Outcome:
    workdir.mkdir()
    args = [arg.format(**files) for arg in case.args]
    return subprocess.run(  # noqa: S603 - the installed script with the case's arguments
        [TASKGOV, *args],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=120,
        cwd=workdir,
        env=_clean_env(),
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _fixture_files(tmp_path_factory.mktemp("exit-code-files"))


@pytest.fixture(scope="module")
def outcomes(files: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every case's outcome, run concurrently, by case id."""
    root = tmp_path_factory.mktemp("exit-codes")
    ids = [str(param.id) for param in CASES]  # type: ignore[attr-defined]
    cases = [param.values[0] for param in CASES]  # type: ignore[attr-defined]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = [pool.submit(_run, one, files, root / f"case-{n}") for n, one in enumerate(cases)]
        return dict(zip(ids, (future.result() for future in futures), strict=True))


def test_exit_code_cases_are_many_and_named() -> None:
    ids = [str(param.id) for param in CASES]  # type: ignore[attr-defined]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("one", CASES)
def test_taskgov_exits_with_the_documented_code(
    one: Case,
    files: dict[str, str],
    outcomes: dict[str, Outcome],
    request: pytest.FixtureRequest,
) -> None:
    got = outcomes[request.node.callspec.id]
    want_line = one.want_line.format(**files)
    lines = [*got.stdout.splitlines(), *got.stderr.splitlines()]
    assert (got.returncode, want_line in lines) == (one.want_code, True), (
        f"\nstdout:\n{got.stdout[:2000]}\nstderr:\n{got.stderr[:2000]}"
    )
