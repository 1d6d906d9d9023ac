"""Tables are for people: human units, never `None` or `9.764e+05`, one line per row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taskgov.cli.output import human_duration, human_number, render_rows
from taskgov.settings import PACKAGED_DATA_DIR, PHILLY_JOBS

ROOT = Path(__file__).resolve().parents[2]
TASKGOV = str(Path(sys.executable).with_name("taskgov"))


@pytest.mark.parametrize(
    ("value", "want"),
    [
        pytest.param(976_400.0, "976,400", id="a large number is grouped, not an exponent"),
        pytest.param(0.0833333, "0.083", id="a fraction keeps three decimals"),
        pytest.param(50.0, "50", id="a whole number drops its decimals"),
        pytest.param(243.14, "243.1", id="hundreds keep one decimal"),
        pytest.param(1e-9, "0", id="a crumb is zero"),
        pytest.param(-0.0004, "0", id="no negative zero"),
    ],
)
def test_human_number(value: float, want: str) -> None:
    assert human_number(value) == want


@pytest.mark.parametrize(
    ("seconds", "want"),
    [
        pytest.param(0, "0s", id="zero"),
        pytest.param(45.4, "45s", id="seconds"),
        pytest.param(300, "5m", id="whole minutes"),
        pytest.param(330, "5m30s", id="minutes and seconds"),
        pytest.param(5400, "1h30m", id="hours and minutes"),
        pytest.param(976_400, "11d7h", id="days past two days"),
    ],
)
def test_human_duration(seconds: float, want: str) -> None:
    assert human_duration(seconds) == want


def test_table_shows_seconds_as_durations_and_cuts_long_text_unless_wide() -> None:
    rows = [{"team": "team-a", "pending_s": 976_400.0, "message": "x" * 100, "note": None}]
    columns = ["team", "pending_s", "message", "note"]
    assert render_rows(rows, columns, "table").splitlines() == [
        "TEAM    PENDING  MESSAGE" + " " * 59 + "NOTE",
        "team-a  11d7h    " + "x" * 63 + "…",
    ]
    assert render_rows(rows, columns, "wide").splitlines()[1] == "team-a  11d7h    " + "x" * 100
    assert render_rows(rows, columns, "csv").splitlines()[1] == f"team-a,976400.0,{'x' * 100},"


def test_recommend_table_has_no_none_and_no_exponent() -> None:
    """A Philly recommendation names teams with no quota today (BorrowLimit and weight unset)."""
    done = subprocess.run(  # noqa: S603 - the installed script
        [
            TASKGOV,
            "recommend",
            "--trace",
            str(PACKAGED_DATA_DIR / PHILLY_JOBS),
            "--policy",
            str(ROOT / "taskgov/data/seed/policy.yaml"),
            "--limit",
            "300",
            "--workers",
            "1",
            "--no-replay",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    table = lines[lines.index("") + 1 :]
    table = table[: table.index("")] if "" in table else table
    assert table[0].split()[:2] == ["TEAM", "NOMINAL"]
    assert len(table) > 2
    assert [line for line in table if "None" in line or "e+" in line] == []
