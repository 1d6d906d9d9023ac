"""``taskgov demo`` as a newcomer runs it: the set-up, the story, the live record, what next.

One demo runs (about 30 s) in a fresh folder with its own temporary directory; the tests read
what it printed, what it left behind, and run the commands it suggested exactly as printed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TASKGOV = str(Path(sys.executable).with_name("taskgov"))
NEXT = "== Next, on the record in .taskgov/taskgov.duckdb:"


@dataclass(frozen=True, slots=True)
class DemoRun:
    cwd: Path
    tmp: Path
    lines: list[str]
    stderr: str
    returncode: int
    ended_at: datetime


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKGOV_")}
    return {**env, "TMPDIR": str(tmp)}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    cwd, tmp = tmp_path_factory.mktemp("newcomer"), tmp_path_factory.mktemp("tmpdir")
    done = subprocess.run(  # noqa: S603 - the installed script
        [TASKGOV, "demo"], capture_output=True, text=True, timeout=300, cwd=cwd, env=_env(tmp)
    )
    return DemoRun(
        cwd, tmp, done.stdout.splitlines(), done.stderr, done.returncode, datetime.now(UTC)
    )


def _section(lines: list[str], start: str, end: str) -> list[str]:
    """The lines after the one equal to ``start`` up to the first empty one or ``end``."""
    rest = lines[lines.index(start) + 1 :]
    stops = (i for i, line in enumerate(rest) if not line or line.startswith(end))
    return rest[: next(stops, len(rest))]


def test_demo_tells_the_set_up_first(demo: DemoRun) -> None:
    assert (demo.returncode, demo.stderr) == (0, "")
    assert demo.lines[: demo.lines.index("")] == [
        "== The set-up: cluster example-cluster, policy example-cluster-scheduler-config",
        "  4 x ml.g5.8xlarge, 1 A10G accelerator(s) each: 4 in all",
        "  team-a: guaranteed 2 x ml.g5.8xlarge (2 accelerators); LendAndBorrow, BorrowLimit 50: "
        "lends what it leaves idle and may borrow up to 1 more",
        "  team-b: guaranteed 2 x ml.g5.8xlarge (2 accelerators); LendAndBorrow, BorrowLimit 50: "
        "lends what it leaves idle and may borrow up to 1 more",
        "  priority classes (higher weight first): inference 90, experimentation 80, training 70, "
        "fine-tuning 50",
        "  Job 1 (pytorchjob-imagenet-gpu-team-a-1-3217d): team-a, 3 accelerator(s), priority "
        "class training (70), submitted at 0s",
        "  Job 2 (pytorchjob-hyperpod-cli-mnist-team-b-14c52): team-b, 2 accelerator(s), priority "
        "class training (70), submitted at 5m",
        "  Job 3 (pytorchjob-imagenet-gpu-team-b-2-8cfee): team-b, 2 accelerator(s), priority "
        "class inference (90), submitted at 10m; it outranks Job 2",
    ]


def test_demo_narrates_borrowing_reclaim_and_priority_preemption(demo: DemoRun) -> None:
    lines = demo.lines
    steps = [line for line in lines if line.startswith("== t=")]
    assert steps == [
        "== t=0s: Job 1 is submitted to hyperpod-ns-team-a",
        "== t=5m: Job 2 is submitted to hyperpod-ns-team-b",
        "== t=10m: Job 3 is submitted to hyperpod-ns-team-b",
    ]
    narrated = lines[lines.index(steps[0]) : lines.index(next(x for x in lines if "live" in x))]
    story = [line.strip().split(":")[0] for line in narrated if line.startswith("  ")]
    assert story == [
        "Job 1 (pytorchjob-imagenet-gpu-team-a-1-3217d) is admitted in ClusterQueue "
        "hyperpod-ns-team-a-clusterqueue, borrowing 1 nvidia.com/gpu in flavor ml.g5.8xlarge.",
        "Job 1 (pytorchjob-imagenet-gpu-team-a-1-3217d) is evicted",
        "Job 2 (pytorchjob-hyperpod-cli-mnist-team-b-14c52) is admitted in ClusterQueue "
        "hyperpod-ns-team-b-clusterqueue.",
        "Job 1 (pytorchjob-imagenet-gpu-team-a-1-3217d) waits",
        "Job 2 (pytorchjob-hyperpod-cli-mnist-team-b-14c52) is evicted",
        "Job 3 (pytorchjob-imagenet-gpu-team-b-2-8cfee) is admitted in ClusterQueue "
        "hyperpod-ns-team-b-clusterqueue.",
        "Job 2 (pytorchjob-hyperpod-cli-mnist-team-b-14c52) waits",
    ]
    assert _section(lines, "$ kubectl get workloads -n hyperpod-ns-team-b    # at t=11m", "$") == [
        "NAME                                        QUEUE                          RESERVED IN"
        "                      ADMITTED  FINISHED  AGE",
        "pytorchjob-hyperpod-cli-mnist-team-b-14c52  hyperpod-ns-team-b-localqueue"
        "                                   False               6m",
        "pytorchjob-imagenet-gpu-team-b-2-8cfee      hyperpod-ns-team-b-localqueue  "
        "hyperpod-ns-team-b-clusterqueue  True                60s",
    ]


def test_demo_kafka_lines_are_in_time_order_and_never_ahead(demo: DemoRun) -> None:
    """Every transition reaches Kafka once, read back in the order it happened, stamped on
    the minute the seed says (0, 5, 10 past the hour) and never after the demo ended."""
    kafka = [line.split()[1:4] for line in demo.lines if line.startswith("  kafka> ")]
    stamps = [datetime.strptime(t, "%H:%M:%S").time() for t, _, _ in kafka]
    # 17: a preemptor is admitted at the instant its victims are evicted, and the API server
    # publishes each instant's end state, so the watcher never sees it pending.
    assert (len(kafka), stamps) == (17, sorted(stamps))
    assert {(s.minute, s.second) for s in stamps} == {(0, 0), (5, 0), (10, 0)}
    assert ["   17 workload events stored", "== 17 workload events reached Kafka"] == [
        line for line in demo.lines if "workload events" in line
    ]
    latest = _taskgov(demo, "sql", "SELECT max(occurred_at) AS latest FROM workload_events")
    stored = datetime.fromisoformat(json.loads(latest)[0]["latest"]).replace(tzinfo=UTC)
    assert stored <= demo.ended_at


def test_demo_prints_the_seed_figures_the_readme_quotes(demo: DemoRun) -> None:
    """team-a borrowed 0.083 GPU-h that team-b lent; Job 1 starved 5 min."""
    utilization = _section(demo.lines, "$ taskgov report utilization", "$")
    rows = {line.split()[1]: line.split()[3:] for line in utilization[1:]}
    # guaranteed, used, allocated, borrowed, lent, idle GPU-hours, guarantee used %
    assert rows == {
        "team-a": ["0.333", "0.25", "0.167", "0.083", "0", "0.167", "50"],
        "team-b": ["0.333", "0.167", "0.167", "0", "0.083", "0.083", "50"],
    }
    starvation = _section(demo.lines, "$ taskgov report starvation", "$")
    assert [line.split()[:2] + line.split()[6:7] for line in starvation[1:]] == [
        ["team-a", "ml.g5.8xlarge", "5"]
    ]
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "team-a borrowed 0.083 GPU-h that team-b lent" in readme
    assert "Job 1 starved 5 min" in readme


def test_demo_pending_table_keeps_names_and_one_line_per_job(demo: DemoRun) -> None:
    pending = _section(demo.lines, "$ taskgov report pending_now", "$")
    # The pending time in human units, Kueue's message cut to fit (-o wide shows it whole).
    assert pending[0].split() == [
        "TEAM", "NAMESPACE", "NAME", "PRIORITY_CLASS", "PRIORITY", "INSTANCE_TYPE", "GPUS",
        "PENDING_SINCE", "PENDING", "CAUSE", "MESSAGE",
    ]  # fmt: skip
    assert [line.split()[:3] + line.split()[9:12] for line in pending[1:]] == [
        ["team-a", "hyperpod-ns-team-a", "pytorchjob-imagenet-gpu-team-a-1-3217d", "5m",
         "waiting_for_quota", "couldn't"],
        ["team-b", "hyperpod-ns-team-b", "pytorchjob-hyperpod-cli-mnist-team-b-14c52", "0s",
         "waiting_for_quota", "couldn't"],
    ]  # fmt: skip
    assert all(line.endswith("unused …") for line in pending[1:])


def test_demo_next_commands_work_as_printed(demo: DemoRun) -> None:
    suggested = _section(demo.lines, NEXT, "==")
    commands = [line.split("  # ")[0].strip() for line in suggested]
    assert [shlex.split(c)[1:3] for c in commands] == [
        ["report", "--list"],
        ["report", "pending_now"],
        ["report", "wait_times"],
        ["sql", "SELECT team, count(*) AS events FROM workload_events GROUP BY team ORDER BY team"],
        ["alerts", "--dry-run"],
        ["recommend", "--policy"],
        ["apply", "--history"],
    ]
    outcomes = []
    for command in commands:
        done = subprocess.run(  # noqa: S603 - what the demo printed, as a user would type it
            shlex.split(command),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=demo.cwd,
            env=_env(demo.tmp),
        )
        outcomes.append((command, done.returncode, bool(done.stdout.strip())))
    assert outcomes == [(command, 0, True) for command in commands]


def test_demo_applies_its_recommendation_to_the_twin_and_shows_the_change(demo: DemoRun) -> None:
    """The last act: a guardrail refuses the step, the demo's limits allow it, the running
    twin's ClusterQueues change, and the record keeps both attempts."""
    text = "\n".join(demo.lines)
    assert "apply 1: refused (as arn:aws:iam::123456789012:user/demo-admin)" in demo.lines
    assert (
        "refused [max-borrow-limit-change] team-a: BorrowLimit 50 -> 10000 changes 9950 points, "
        "at most 200 per apply" in text
    )
    assert "apply 2: applied (as arn:aws:iam::123456789012:user/demo-admin)" in demo.lines
    table = _section(
        demo.lines, "== ClusterQueues in the running twin, before -> after the apply", "$"
    )
    assert [line.split() for line in table] == [
        ["CLUSTER_QUEUE", "GPU_NOMINAL", "GPU_BORROWING_LIMIT"],
        ["hyperpod-ns-team-a-clusterqueue", "2", "->", "2", "1", "->", "200"],
        ["hyperpod-ns-team-b-clusterqueue", "2", "->", "2", "1", "->", "200"],
    ]
    done = subprocess.run(  # noqa: S603 - the installed script
        [TASKGOV, "apply", "--history", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=demo.cwd,
        env=_env(demo.tmp),
    )
    history = [
        (h["apply_id"], h["outcome"], h["objects_applied"], h["refusals"])
        for h in json.loads(done.stdout)
    ]
    assert history == [(2, "applied", 2, 0), (1, "refused", 0, 2)]


def test_readme_quickstart_shows_the_commands_the_demo_prints(demo: DemoRun) -> None:
    """The README shows the commands the demo ends with (run as printed above), as typed from
    the repository's root."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("ends with commands to try on it")[1].split("```bash\n")[1]
    commands = [line.split("  #")[0].strip() for line in block.split("```")[0].splitlines()]
    printed = [line.split("  # ")[0].strip() for line in _section(demo.lines, NEXT, "==")]
    as_printed = [c.replace(TASKGOV, ".venv/bin/taskgov") for c in printed]
    policy = str(ROOT / "taskgov/data/seed/policy.yaml")
    assert commands == [c.replace(policy, "taskgov/data/seed/policy.yaml") for c in as_printed]


def test_demo_leaves_only_its_state_folder(demo: DemoRun) -> None:
    """No Faust `<app>-data/` folder, no temporary folder, nothing but `.taskgov/` (ignored)."""
    assert sorted(p.name for p in demo.cwd.iterdir()) == [".taskgov"]
    assert sorted(p.name for p in (demo.cwd / ".taskgov").iterdir()) == [
        "demo-worker.log",
        "demo.json",
        "faust",
        "taskgov.duckdb",
    ]
    assert list(demo.tmp.iterdir()) == []
    log = (demo.cwd / ".taskgov" / "demo-worker.log").read_text()
    assert not re.search(r"\x1b\[", log)
    assert ".taskgov/" in (ROOT / ".gitignore").read_text().splitlines()


def test_demo_never_replaces_a_record_it_did_not_write(tmp_path: Path) -> None:
    state = tmp_path / ".taskgov"
    state.mkdir()
    (state / "taskgov.duckdb").write_bytes(b"the worker's record")
    done = subprocess.run(  # noqa: S603 - the installed script
        [TASKGOV, "demo"], capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env=_env(tmp_path),
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "error: --db, .taskgov/taskgov.duckdb: holds a record the demo did not write; give the "
        "demo another --db FILE, or remove this one\n",
    )
    assert (state / "taskgov.duckdb").read_bytes() == b"the worker's record"


@pytest.mark.parametrize(
    ("args", "env", "want_stderr"),
    [
        pytest.param(
            ["demo", "--jobs", "5"], {}, "Error: --jobs needs --trace", id="jobs without trace"
        ),
        pytest.param(
            ["demo", "--trace", "philly"],
            {"TASKGOV_DATA_DIR": "/nonexistent/data"},
            "error: --trace, philly: field data_dir: /nonexistent/data/philly-vc/jobs.csv.gz is "
            "missing (TASKGOV_DATA_DIR names the folder of the traces)\n",
            id="trace data missing",
        ),
        pytest.param(
            ["demo", "--trace", "helios"], {}, "Invalid value for '--trace'", id="unknown trace"
        ),
    ],
)
def test_demo_rejects_bad_input_with_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], want_stderr: str
) -> None:
    result = subprocess.run(  # noqa: S603 - the installed script
        [TASKGOV, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**_env(tmp_path), **env},
    )

    assert (result.returncode, result.stdout) == (2, "")
    assert want_stderr in result.stderr


def _taskgov(demo: DemoRun, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - the installed script
        [TASKGOV, *args, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=demo.cwd,
        env=_env(demo.tmp),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
