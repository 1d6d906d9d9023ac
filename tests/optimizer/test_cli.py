"""``taskgov recommend``: output formats and exit codes 0, 2 and 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from taskgov.cli.recommend import recommend_command

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
    quota = (
        "ComputeQuotaResources=[{{InstanceType=ml.p4d.24xlarge,Count={count}}}],"
        "ResourceSharingConfig={{Strategy=LendAndBorrow,BorrowLimit=0}},"
        "PreemptTeamTasks=LowerPriority"
    )
    documents = [
        {
            "apiVersion": "taskgov/v1",
            "kind": "Cluster",
            "metadata": {"name": "test-cluster"},
            "spec": {"instanceGroups": [{"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 3}]},
        },
        {
            "apiVersion": "taskgov/v1",
            "kind": "Policy",
            "metadata": {"name": "test-policy"},
            "spec": {
                "schedulerConfig": "FairShare=Enabled",
                "computeQuotas": [
                    {
                        "Name": f"{team}-quota",
                        "ComputeQuotaConfig": quota.format(count=count),
                        "ComputeQuotaTarget": f"TeamName={team},FairShareWeight=0",
                    }
                    for team, count in (("team-a", 2), ("team-b", 1))
                ],
            },
        },
    ]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


def _run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    base = ["--trace", str(_trace(tmp_path)), "--policy", str(_policy(tmp_path)), "--workers", "1"]
    result = CliRunner().invoke(recommend_command, [*base, *args])
    return result.exit_code, result.stdout, result.stderr


def test_recommend_json_plan_moves_quota_to_the_starved_team(tmp_path: Path) -> None:
    code, stdout, stderr = _run(tmp_path, "-o", "json")
    assert (code, stderr) == (0, "")
    plan = json.loads(stdout)
    got = {
        team["team"]: (team["current"]["nominal"], team["proposed"]["nominal"])
        for team in plan["teams"]
    }
    assert (plan["status"], got) == (
        "optimal",
        {
            "team-a": ({"ml.p4d.24xlarge": 2}, {"ml.p4d.24xlarge": 1}),
            "team-b": ({"ml.p4d.24xlarge": 1}, {"ml.p4d.24xlarge": 2}),
        },
    )
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
    assert sum(line.startswith("aws sagemaker update-compute-quota") for line in lines) == 2


def test_recommend_exits_3_naming_the_conflicting_constraints(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        yaml.safe_dump({"floors": {"team-a": {"*": 2}, "team-b": {"ml.p4d.24xlarge": 2}}})
    )
    code, stdout, stderr = _run(tmp_path, "--settings", str(settings))
    assert (code, stdout, stderr.splitlines()) == (
        3,
        "",
        [
            "error: infeasible: no quotas satisfy these constraints together:",
            "  capacity[ml.p4d.24xlarge]: teams' nominal ml.p4d.24xlarge instances fit in "
            "the cluster's 3",
            "  floor[team-a,ml.p4d.24xlarge]: team-a keeps at least 2 ml.p4d.24xlarge instances",
            "  floor[team-b,ml.p4d.24xlarge]: team-b keeps at least 2 ml.p4d.24xlarge instances",
        ],
    )


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
