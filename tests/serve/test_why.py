"""``taskgov why``: exact answers on table-driven scenarios, through the library and the
installed console script."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from taskgov.serve.forward import ForwardRun
from taskgov.serve.why import explain
from tests.serve.conftest import TASKGOV
from tests.serve.scenarios import behind_higher_priority_events, borrow_blocked_events, record
from tests.sql.builders import make_workload
from tests.sql.scenarios import seed_events

JOB_1 = "hyperpod-ns-team-a/pytorchjob-imagenet-gpu-team-a-1-3217d"
JOB_2 = "hyperpod-ns-team-b/pytorchjob-hyperpod-cli-mnist-team-b-14c52"
ASSUMING = [
    (
        "assuming",
        "ClusterQueues as HyperPod compiles them: BestEffortFIFO, withinClusterQueue "
        "LowerPriority, reclaimWithinCohort Any",
    ),
    (
        "assuming",
        "each running workload finishes 1 h 0 min after its admission (at least 1 min from "
        "now); each pending one runs that long once admitted",
    ),
    ("assuming", "nothing new is submitted; pending workloads queue in their creation order"),
]
WAITING = "Kueue cannot reserve quota for it yet: its ClusterQueue and cohort have too little unused quota right now."

CASES = [
    pytest.param(
        seed_events,
        JOB_1,
        datetime(2025, 1, 1, 0, 7),
        1,
        datetime(2025, 1, 1, 1, 5, 1),
        [
            (
                "kueue says",
                "Pending: couldn't assign flavors to pod set worker: insufficient unused quota "
                "for nvidia.com/gpu in flavor ml.g5.8xlarge, 1 more needed",
            ),
            ("in plain words", WAITING),
            ("position", "1 of 1 pending in team-a's ClusterQueue"),
            ("blocked by", "nvidia.com/gpu in flavor ml.g5.8xlarge: 1 more needed"),
            ("would free it", f"{JOB_2} finishing"),
            (
                "smallest quota change",
                "1 more nvidia.com/gpu of nominal quota in ml.g5.8xlarge for "
                "hyperpod-ns-team-a-clusterqueue",
            ),
            ("estimated start", "2025-01-01 01:05:01 UTC"),
            *ASSUMING,
        ],
        id="the seed's Job 1 while Job 2 runs waits for Job 2 to finish",
    ),
    pytest.param(
        borrow_blocked_events,
        "hyperpod-ns-team-a/big",
        None,
        1,
        None,
        [
            (
                "kueue says",
                "couldn't assign flavors to pod set main: insufficient quota for nvidia.com/gpu "
                "in flavor ml.g5.8xlarge, previously considered podsets requests (0) + current "
                "podset request (4) > maximum capacity (2)",
            ),
            (
                "in plain words",
                "It asks for more than its ClusterQueue may ever hold (nominal quota plus "
                "borrowing limit), so Kueue will not admit it as configured.",
            ),
            ("position", "1 of 1 pending in team-a's ClusterQueue"),
            (
                "blocked by",
                "nvidia.com/gpu in flavor ml.g5.8xlarge: requests 4, team-a-cq may hold at most "
                "2 (nominal + borrowingLimit)",
            ),
            (
                "smallest quota change",
                "raise team-a-cq's borrowingLimit for nvidia.com/gpu in ml.g5.8xlarge by 2",
            ),
            ("estimated start", "not within the run: never as configured"),
            *ASSUMING,
        ],
        id="a job blocked by its borrowing limit never starts as configured",
    ),
    pytest.param(
        behind_higher_priority_events,
        "hyperpod-ns-team-a/low",
        None,
        2,
        datetime(2024, 5, 1, 2, 0, 2),
        [
            (
                "kueue says",
                "couldn't assign flavors to pod set main: insufficient unused quota for "
                "nvidia.com/gpu in flavor ml.g5.8xlarge, 2 more needed",
            ),
            ("in plain words", WAITING),
            (
                "position",
                "2 of 2 pending in team-a's ClusterQueue; ahead: hyperpod-ns-team-a/high "
                "(priority 100, 2 accelerators)",
            ),
            ("blocked by", "nvidia.com/gpu in flavor ml.g5.8xlarge: 2 more needed"),
            (
                "would free it",
                "hyperpod-ns-team-a/running, hyperpod-ns-team-a/high finishing",
            ),
            (
                "smallest quota change",
                "2 more nvidia.com/gpu of nominal quota in ml.g5.8xlarge for team-a-cq",
            ),
            ("estimated start", "2024-05-01 02:00:02 UTC"),
            *ASSUMING,
        ],
        id="a job behind a higher-priority one starts after it",
    ),
]


@pytest.mark.parametrize(
    ("events", "workload", "at", "want_position", "want_start", "want_lines"), CASES
)
def test_why_explains_exactly(
    tmp_path: Path,
    events: Callable[[], list[Any]],
    workload: str,
    at: datetime | None,
    want_position: int,
    want_start: datetime | None,
    want_lines: list[tuple[str, str]],
) -> None:
    path = record(tmp_path / "record.duckdb", events())
    with duckdb.connect(str(path), read_only=True) as conn:
        answer = explain(conn, workload, at=at)
    assert (answer.phase, answer.position, answer.estimated_start) == (
        "pending",
        want_position,
        want_start,
    )
    assert [(line.topic, line.text) for line in answer.lines] == want_lines


def test_why_through_the_console_script(seed_db: Path) -> None:
    done = subprocess.run(  # noqa: S603
        [TASKGOV, "why", JOB_1, "--db", str(seed_db), "--at", "2025-01-01T00:07", "-o", "json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["position"], answer["estimated_start"]) == (1, "2025-01-01T01:05:01")


@pytest.mark.parametrize(
    ("workload", "want_stderr"),
    [
        pytest.param(
            "no-slash", "error: workload, no-slash: expected NAMESPACE/NAME\n", id="not ns/name"
        ),
        pytest.param(
            "hyperpod-ns-team-a/nothing",
            "error: workload, hyperpod-ns-team-a/nothing: not pending or running at that instant\n",
            id="an unknown workload",
        ),
    ],
)
def test_why_refuses_bad_input_with_exit_2(seed_db: Path, workload: str, want_stderr: str) -> None:
    done = subprocess.run(  # noqa: S603
        [TASKGOV, "why", workload, "--db", str(seed_db)], capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (2, want_stderr)


LOW = "hyperpod-ns-team-a/low"
HIGH = "hyperpod-ns-team-a/high"


def test_asks_answered_from_a_kept_forward_run_equal_fresh_answers(tmp_path: Path) -> None:
    # The server keeps the state and the cohort's forward run per watermark and plays on from
    # where the last ask stopped: asking low, then high (already admitted in the kept run),
    # then low again must give what a fresh run gives for each.
    path = record(tmp_path / "record.duckdb", behind_higher_priority_events())
    with duckdb.connect(str(path), read_only=True) as conn:
        low = explain(conn, LOW)
        high = explain(conn, HIGH)
        low_again = explain(conn, LOW)
    fresh = record(tmp_path / "fresh.duckdb", behind_higher_priority_events())
    with duckdb.connect(str(fresh), read_only=True) as conn:
        high_fresh = explain(conn, HIGH)
    assert (high.position, high.estimated_start) == (1, datetime(2024, 5, 1, 1, 0, 1))
    assert (low_again, high) == (low, high_fresh)


@pytest.mark.parametrize(
    ("horizon", "want_estimate"),
    [
        pytest.param(
            timedelta(hours=3), "2024-05-01 02:00:02 UTC", id="a start within the horizon"
        ),
        pytest.param(
            timedelta(hours=1),
            "not within the run's 1 h 0 min: later, if ever",
            id="a start beyond the horizon is not played out",
        ),
    ],
)
def test_the_forward_run_stops_at_its_horizon(
    tmp_path: Path, horizon: timedelta, want_estimate: str
) -> None:
    path = record(tmp_path / "record.duckdb", behind_higher_priority_events())
    with duckdb.connect(str(path), read_only=True) as conn:
        answer = explain(conn, LOW, horizon=horizon)
    estimate = [line.text for line in answer.lines if line.topic == "estimated start"]
    assert estimate == [want_estimate]


def test_a_kept_state_answers_for_a_minute_after_the_watermark_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = record(tmp_path / "record.duckdb", behind_higher_priority_events())

    def ask() -> datetime:
        with duckdb.connect(str(path), read_only=True) as conn:
            return explain(conn, LOW).at

    first = ask()
    later = make_workload("later").team("team-b").event("00:05", "submitted")
    record(path, later.event("00:05", "deleted").events())
    kept = ask()
    monkeypatch.setattr("taskgov.serve.why.KEEP_S", 0.0)
    read_again = ask()
    assert (first, kept, read_again) == (
        datetime(2024, 5, 1, 0, 2),
        datetime(2024, 5, 1, 0, 2),
        datetime(2024, 5, 1, 0, 5),
    )


@pytest.mark.parametrize(
    ("horizon", "want_words"),
    [
        pytest.param(timedelta(days=30), "30 days", id="the default horizon in days"),
        pytest.param(timedelta(days=1), "1 day", id="one day"),
        pytest.param(timedelta(hours=36), "36 h 0 min", id="not whole days in hours"),
    ],
)
def test_the_horizon_is_named_in_words(horizon: timedelta, want_words: str) -> None:
    run = ForwardRun([], [], datetime(2024, 5, 1), timedelta(hours=1), horizon)
    assert run.horizon_words == want_words
