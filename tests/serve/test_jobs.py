"""Scheduled jobs of ``taskgov serve``: the cron schedule and the recommendation run."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from taskgov.errors import InputError
from taskgov.serve.jobs import RecommendJob, cron_matches
from tests.serve.conftest import SEED_POLICY, TASKGOV

MONDAY_6 = datetime(2025, 1, 6, 6, 0)


@pytest.mark.parametrize(
    ("schedule", "moment", "want_match"),
    [
        pytest.param("0 6 * * 1", MONDAY_6, True, id="Mondays at 06:00 on a Monday at 06:00"),
        pytest.param("0 6 * * 1", MONDAY_6.replace(day=7), False, id="not on a Tuesday"),
        pytest.param("*/15 * * * *", MONDAY_6.replace(minute=45), True, id="every 15 minutes"),
        pytest.param("*/15 * * * *", MONDAY_6.replace(minute=50), False, id="not at :50"),
        pytest.param("0 0-5,22 * * *", MONDAY_6.replace(hour=22, minute=0), True, id="a list"),
        pytest.param("0 0 1 1 0", datetime(2025, 1, 5), False, id="Sunday is 0, not Jan 1"),
    ],
)
def test_cron_matches(schedule: str, moment: datetime, want_match: bool) -> None:
    assert cron_matches(schedule, moment) is want_match


@pytest.mark.parametrize("schedule", ["0 6 * *", "a b c d e"], ids=["four fields", "words"])
def test_a_bad_schedule_is_bad_input(schedule: str) -> None:
    with pytest.raises(InputError):
        cron_matches(schedule, MONDAY_6)


def test_the_recommend_job_stores_a_run(seed_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "record.duckdb"
    shutil.copy(seed_db, copy)
    assert RecommendJob(copy, SEED_POLICY, "* * * * *").run_once() == 0
    with duckdb.connect(str(copy), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM recommendation_runs").fetchone() == (2,)


def test_a_schedule_without_a_policy_exits_2(seed_db: Path) -> None:
    done = subprocess.run(  # noqa: S603
        [TASKGOV, "serve", "--db", str(seed_db), "--recommend-schedule", "0 6 * * 1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert "needs --recommend-policy" in done.stderr
