"""``taskgov recommend``: from a trace or the DuckDB history; formats, storage, exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from optimizer.trace import TraceDemandSource
from streams.sink_duckdb import DuckDBSink
from taskgov.cli.main import cli
from taskgov.cli.policy import read_files
from taskgov.cli.recommend import recommend_command
from taskgov.policy.load import policy_and_cluster
from tests.builders import p4d_policy_documents
from tests.optimizer.recorded import record

TRACE_HEADER = "vc,arrival_time_s,num_gpus,est_duration_s\n"


def _trace(tmp_path: Path, days: int = 2) -> Path:
    """team-b submits three 8-GPU, 8-hour jobs a day; team-a one."""
    rows = []
    for day in range(days):
        start = day * 86_400
        rows.append(f"team-a,{start},8,28800")
        rows += [f"team-b,{start},8,28800"] * 3
    path = tmp_path / "trace.csv"
    path.write_text(TRACE_HEADER + "\n".join(rows) + "\n")
    return path


def _policy(tmp_path: Path) -> Path:
    documents = p4d_policy_documents({"team-a": 2, "team-b": 1})
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


def _run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    base = ["--trace", str(_trace(tmp_path)), "--policy", str(_policy(tmp_path)), "--workers", "1"]
    result = CliRunner().invoke(recommend_command, [*base, *args])
    return result.exit_code, result.stdout, result.stderr


def test_recommend_json_plan_lets_the_starved_team_borrow(tmp_path: Path) -> None:
    code, stdout, stderr = _run(tmp_path, "-o", "json")
    assert (code, stderr) == (0, "")
    plan = json.loads(stdout)
    got = {team["team"]: (team["current"], team["proposed"]) for team in plan["teams"]}
    p4d = {"ml.p4d.24xlarge": 2}
    # Chosen on the trace's second day (the hold-out): team-b borrows team-a's idle GPUs.
    assert (plan["status"], plan["chosen"], got) == (
        "optimal",
        "cp-sat p50 borrow 10000",
        {
            "team-a": (
                {"nominal": p4d, "borrow_limit_pct": 0, "fair_share_weight": 0},
                {"nominal": p4d, "borrow_limit_pct": 10_000, "fair_share_weight": 33},
            ),
            "team-b": (
                {"nominal": {"ml.p4d.24xlarge": 1}, "borrow_limit_pct": 0, "fair_share_weight": 0},
                {
                    "nominal": {"ml.p4d.24xlarge": 1},
                    "borrow_limit_pct": 10_000,
                    "fair_share_weight": 100,
                },
            ),
        },
    )
    assert {name: numbers["wait_p95_s"] for name, numbers in plan["overall"].items()} == {
        "current": 86_400.0,
        "proposed": 28_800.0,
    }
    assert [p["objective"] for p in plan["phases"]] == [
        "runnable",
        "coverage",
        "starvation",
        "change",
        "borrow_limit",
    ]


def test_recommend_table_states_status_and_commands(tmp_path: Path) -> None:
    code, stdout, _ = _run(tmp_path)
    lines = stdout.splitlines()
    assert code == 0
    assert lines[0].startswith("status: optimal; runnable 0 (optimal, gap 0, ")
    # The plan points to `taskgov apply`, which prints the calls with the live ids and
    # versions; no placeholder command a shell would misread.
    assert not any("<ID:" in line or "<VERSION:" in line for line in lines)
    # A trace's run is not stored (no --db), so there is no run to apply.
    assert not any(line.startswith("apply it:") for line in lines)


INFEASIBLE = "error: infeasible: no quotas satisfy these constraints together:"
# The constraints ``_floors_beyond_the_cluster`` sets against each other, as printed.
CONFLICTS = [
    "  capacity[ml.p4d.24xlarge]: teams' nominal ml.p4d.24xlarge instances fit in the cluster's 3",
    "  floor[team-a,ml.p4d.24xlarge]: team-a keeps at least 2 ml.p4d.24xlarge instances",
    "  floor[team-b,ml.p4d.24xlarge]: team-b keeps at least 2 ml.p4d.24xlarge instances",
]


def _floors_beyond_the_cluster(tmp_path: Path) -> Path:
    """Settings whose floors (2 + 2 instances) exceed the cluster's 3."""
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        yaml.safe_dump({"floors": {"team-a": {"*": 2}, "team-b": {"ml.p4d.24xlarge": 2}}})
    )
    return settings


def test_recommend_exits_3_naming_the_conflicting_constraints(tmp_path: Path) -> None:
    code, stdout, stderr = _run(tmp_path, "--settings", str(_floors_beyond_the_cluster(tmp_path)))
    assert (code, stdout, stderr.splitlines()) == (3, "", [INFEASIBLE, *CONFLICTS])


@pytest.mark.parametrize(
    ("args", "trace_text", "want_stderr"),
    [
        pytest.param(
            ["--since", "yesterday"],
            None,
            ["error: --since: 'yesterday' is not a duration like 90s, 1h30m or 500ms"],
            id="a --since that is no duration",
        ),
        pytest.param(
            ["--solver-params", "no_such_param:1"],
            None,
            [
                "error: --solver-params: 'no_such_param:1' is not name:value,... of CP-SAT "
                "SatParameters"
            ],
            id="unknown CP-SAT parameters",
        ),
        pytest.param(
            [],
            "vc,arrival_time_s,est_duration_s\nteam-a,0,60\n",
            [
                "error: {trace}: field num_gpus: column is missing (the file has: vc, "
                "arrival_time_s, est_duration_s)"
            ],
            id="a trace without the GPU column",
        ),
        pytest.param(
            ["--peak-percentile", "50"],
            None,
            [
                "error: flags, optimizer settings: peak_percentile 50.0 is below "
                "sustained_percentile 75.0"
            ],
            id="a peak percentile below the sustained one",
        ),
    ],
)
def test_recommend_exits_2_on_bad_input(
    tmp_path: Path, args: list[str], trace_text: str | None, want_stderr: list[str]
) -> None:
    trace = _trace(tmp_path)
    if trace_text is not None:
        trace.write_text(trace_text)
    result = CliRunner().invoke(
        recommend_command,
        ["--trace", str(trace), "--policy", str(_policy(tmp_path)), *args],
    )
    want = [line.format(trace=trace) for line in want_stderr]
    assert (result.exit_code, result.stderr.splitlines()) == (2, want)


# -- the recorded history in DuckDB ---------------------------------------------------------


def _recorded(tmp_path: Path) -> tuple[Path, Path]:
    """The trace's jobs played on the twin under the policy, watched and stored by the sink."""
    policy_file = _policy(tmp_path)
    policy, _, cluster = policy_and_cluster(read_files((policy_file,)))
    workloads = TraceDemandSource(_trace(tmp_path), policy, cluster).workloads
    return record(tmp_path / "history.duckdb", workloads, policy, cluster), policy_file


def _invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(recommend_command, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _db_run(tmp_path: Path, *args: str) -> tuple[int, str, str, Path]:
    db, policy = _recorded(tmp_path)
    code, stdout, stderr = _invoke(
        "--db", str(db), "--policy", str(policy), "--workers", "1", *args
    )
    return code, stdout, stderr, db


def _plan_part(document: dict[str, Any]) -> dict[str, Any]:
    """What two runs over the same jobs must agree on (not wall times, source or run id)."""
    return {k: document[k] for k in ("status", "conflicts", "window_s", "overall", "teams")}


def test_recommend_from_the_database_plans_as_from_the_trace(tmp_path: Path) -> None:
    code, stdout, stderr, db = _db_run(tmp_path, "-o", "json")
    _, from_trace, _ = _run(tmp_path, "-o", "json")

    plan = json.loads(stdout)
    assert (code, stderr) == (0, "")
    assert _plan_part(plan) == _plan_part(json.loads(from_trace))
    assert (plan["source"], plan["run_id"]) == (
        {
            "kind": "duckdb",
            "location": str(db),
            "cluster": "test-cluster",
            "origin": "2025-01-01T00:00:00",
            "since_s": None,
            "jobs": 8,
        },
        1,
    )


def test_recommend_stores_the_run_to_list_and_show_again(tmp_path: Path) -> None:
    code, stdout, _, db = _db_run(tmp_path, "-o", "json")

    shown = _invoke("--db", str(db), "--show", "1", "-o", "json")
    listed = _invoke("--db", str(db), "--list", "-o", "json")

    # The store keeps every field but the forward evidence, warnings and candidates (its
    # tables predate them): those print only when the plan is made.
    made = json.loads(stdout)
    for key in ("evidence", "warnings", "candidates", "chosen"):
        made.pop(key)
    stored = json.loads(shown[1])
    for key in ("evidence", "warnings", "candidates", "chosen"):
        stored.pop(key)
    assert (code, shown[0], shown[2], stored) == (0, 0, "", made)
    rows = json.loads(listed[1])
    created = datetime.fromisoformat(rows[0].pop("created (UTC)"))
    assert (listed[0], rows) == (
        0,
        [
            {
                "run": 1,
                "source": f"duckdb {db}",
                "cluster": "test-cluster",
                "since": "",
                "jobs": 8,
                "status": "optimal",
                "changed": 2,
            }
        ],
    )
    assert abs(created - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=5)


def test_recommend_table_from_the_database_names_its_source_and_run(tmp_path: Path) -> None:
    code, stdout, stderr, db = _db_run(tmp_path, "--since", "30h")
    lines = stdout.splitlines()

    assert (code, stderr) == (0, "")
    assert lines[0].startswith("status: optimal; runnable 0 (optimal, gap 0, ")
    assert lines[1] == (
        f"history {db}, cluster test-cluster: 4 jobs submitted since 2025-01-01 18:00:00; "
        "seconds count from 2025-01-01 00:00:00 UTC"
    )
    assert lines[-2:] == [
        f"stored as run 1 in {db} (--show 1)",
        "apply it: taskgov apply 1 prints the exact calls with the live ids and versions "
        "(a dry run); --approve makes them",
    ]
    listed = json.loads(_invoke("--db", str(db), "--list", "-o", "json")[1])
    assert (listed[0]["since"], listed[0]["jobs"]) == ("2025-01-01 18:00:00", 4)


def test_recommend_from_the_database_exits_3_naming_the_conflicting_constraints(
    tmp_path: Path,
) -> None:
    settings = _floors_beyond_the_cluster(tmp_path)
    code, stdout, stderr, db = _db_run(tmp_path, "--settings", str(settings))

    assert (code, stdout, stderr.splitlines()) == (
        3,
        "",
        [INFEASIBLE, *CONFLICTS, f"note: stored as run 1 in {db}"],
    )
    shown = _invoke("--db", str(db), "--show", "1")
    assert shown[1].splitlines()[2:6] == [
        "",
        INFEASIBLE.removeprefix("error: infeasible: "),
        *CONFLICTS[:2],
    ]


def test_recommend_no_store_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    code, _, _, db = _db_run(tmp_path, "--no-store", "--no-replay")

    assert (code, _invoke("--db", str(db), "--list", "-o", "json")) == (0, (0, "[]\n", ""))


def test_recommend_stores_a_trace_run_only_in_a_named_database(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"

    code, stdout, _ = _run(tmp_path, "--db", str(db), "--no-replay", "-o", "json")

    assert (code, json.loads(stdout)["run_id"], json.loads(stdout)["source"]["kind"]) == (
        0,
        1,
        "trace",
    )
    assert json.loads(_invoke("--db", str(db), "--list", "-o", "json")[1])[0]["source"] == (
        f"trace {tmp_path / 'trace.csv'}"
    )


def test_recommend_reads_the_database_the_settings_name(tmp_path: Path) -> None:
    db, policy = _recorded(tmp_path)
    config = tmp_path / "taskgov.yaml"
    config.write_text(yaml.safe_dump({"duckdb_path": str(db)}))

    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "recommend", "--policy", str(policy), "--workers", "1"],
        env={"TASKGOV_DUCKDB_PATH": None},
    )

    assert (result.exit_code, result.stdout.splitlines()[-2]) == (
        0,
        f"stored as run 1 in {db} (--show 1)",
    )


def _empty(tmp_path: Path) -> None:
    path = tmp_path / "history.duckdb"
    path.unlink()
    DuckDBSink(path).close()


def _unknown_team_settings(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump({"floors": {"team-x": {"*": 1}}}))


@pytest.mark.parametrize(
    ("prepare", "args", "want_stderr"),
    [
        pytest.param(
            lambda p: (p / "history.duckdb").unlink(),
            ["--policy", "{policy}"],
            ["error: --db, {db}: no such database"],
            id="no database file",
        ),
        pytest.param(
            _empty,
            ["--policy", "{policy}"],
            ["error: --db, {db}: no recorded jobs: the database holds no Workloads"],
            id="an empty history",
        ),
        pytest.param(
            _unknown_team_settings,
            ["--policy", "{policy}", "--settings", "{tmp}/settings.yaml"],
            [
                "error: {tmp}/settings.yaml, optimizer settings: field floors.team-x: unknown "
                "team team-x: no ComputeQuota in Policy test-policy and no recorded jobs "
                "(teams: team-a, team-b)"
            ],
            id="a floor for an unknown team",
        ),
        pytest.param(
            None,
            ["--policy", "{policy}", "--since", "2025-02-01"],
            [
                "error: --db, {db}: no recorded jobs of cluster test-cluster submitted since "
                "2025-02-01 00:00:00"
            ],
            id="nothing submitted since then",
        ),
        pytest.param(
            None,
            ["--policy", "{policy}", "--since", "yesterday"],
            [
                "error: --since, yesterday: expected a duration back from the end of the "
                "record (e.g. 720h) or an ISO 8601 date or time (e.g. 2024-05-01 or "
                "2024-05-01T12:00Z)"
            ],
            id="a --since that is neither",
        ),
        pytest.param(
            None,
            ["--policy", "{policy}", "--cluster", "north"],
            ["error: --cluster, {db}: no recorded jobs of cluster north (recorded: test-cluster)"],
            id="an unknown cluster",
        ),
        pytest.param(
            None, [], ["error: --policy: is required to recommend"], id="no policy to start from"
        ),
        pytest.param(
            None,
            ["--policy", "{policy}", "--instance-type", "ml.g5.8xlarge"],
            [
                "error: --instance-type: ml.g5.8xlarge is not in cluster test-cluster "
                "(ml.p4d.24xlarge)"
            ],
            id="an instance type the cluster lacks",
        ),
        pytest.param(
            None,
            ["--policy", "{policy}", "--trace", "{tmp}/trace.csv", "--cluster", "east"],
            ["error: --cluster: reads the database: not with --trace"],
            id="--cluster with a trace",
        ),
        pytest.param(
            None,
            ["--policy", "{policy}", "--limit", "3"],
            ["error: --limit: reads a trace: give --trace"],
            id="--limit without a trace",
        ),
        pytest.param(
            None,
            ["--show", "5"],
            ["error: --show, 5: no such run (no runs are stored)"],
            id="an unknown stored run",
        ),
    ],
)
def test_recommend_from_the_database_exits_2_naming_what_is_wrong(
    tmp_path: Path, prepare: Any, args: list[str], want_stderr: list[str]
) -> None:
    db, policy = _recorded(tmp_path)
    if prepare is not None:
        prepare(tmp_path)
    names = {"db": db, "policy": policy, "tmp": tmp_path}

    code, stdout, stderr = _invoke("--db", str(db), *[a.format(**names) for a in args])

    want = [line.format(**names) for line in want_stderr]
    assert (code, stdout, stderr.splitlines()) == (2, "", want)
