"""``taskgov serve`` as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.conftest import TASKGOV
from tests.serve.daemons import get_answer


@pytest.fixture(scope="module")
def served(seed_db: Path) -> Iterator[str]:
    """The URL ``taskgov serve --port 0`` prints first, over the seed's record."""
    process = subprocess.Popen(  # noqa: S603
        [TASKGOV, "serve", "--port", "0", "--db", str(seed_db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    yield url
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def _report(name: str, db: Path, *options: str) -> list[dict[str, Any]]:
    out = subprocess.run(  # noqa: S603
        [TASKGOV, "report", name, "--db", str(db), "-o", "json", *options],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return list(json.loads(out))


def _same_times(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The API's ISO times ('2025-01-01T00:05:00Z') written as the report CLI writes them."""
    return [
        {
            k: v.replace("T", " ").removesuffix("Z") if isinstance(v, str) and v[:2] == "20" else v
            for k, v in row.items()
        }
        for row in rows
    ]


def test_serve_prints_its_url_first_and_answers_probes(served: str) -> None:
    assert served.startswith("http://127.0.0.1:")
    assert get_answer(served + "healthz") == (200, "ok\n")
    assert get_answer(served + "readyz") == (200, "ready\n")


@pytest.mark.parametrize("report", ["wait_times", "preemptions", "pending_causes", "starvation"])
def test_team_api_equals_the_report(served: str, seed_db: Path, report: str) -> None:
    status, payload = get_answer(served + "api/team?team=team-a")
    assert status == 200
    assert _same_times(payload[report]["rows"]) == _report(report, seed_db, "--team", "team-a")


@pytest.mark.parametrize(
    ("path", "want_status", "want_error"),
    [
        pytest.param(
            "api/team?since=yesterday",
            400,
            "since, yesterday: expected an ISO 8601 date or time, e.g. 2024-05-01 or "
            "2024-05-01T12:00Z",
            id="a time that is not ISO 8601 is bad input",
        ),
        pytest.param(
            "api/nothing", 404, "no such endpoint: nothing", id="an unknown endpoint is not found"
        ),
        pytest.param(
            "static/../../etc/passwd",
            404,
            "no such file: ../../etc/passwd",
            id="a path outside the static files is not found",
        ),
    ],
)
def test_bad_requests_are_refused_with_a_reason(
    served: str, path: str, want_status: int, want_error: str
) -> None:
    assert get_answer(served + path) == (want_status, {"error": want_error, "status": want_status})


def test_readyz_fails_without_a_record(tmp_path: Path) -> None:
    process = subprocess.Popen(  # noqa: S603
        [TASKGOV, "serve", "--port", "0", "--db", str(tmp_path / "none.duckdb")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    try:
        status, payload = get_answer(url + "readyz")
        assert (status, payload["status"]) == (400, 400)
        assert get_answer(url + "healthz") == (200, "ok\n")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_serve_takes_host_and_port_from_the_environment(seed_db: Path) -> None:
    env = {**os.environ, "TASKGOV_SERVE_PORT": "0", "TASKGOV_SERVE_HOST": "127.0.0.1"}
    process = subprocess.Popen(  # noqa: S603
        [TASKGOV, "serve", "--db", str(seed_db)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    try:
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":8000/")
        assert get_answer(url + "healthz") == (200, "ok\n")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
