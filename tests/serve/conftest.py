"""Fixtures for the server's tests: the seed's record in a real DuckDB file, and a server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.sink_duckdb import DuckDBSink
from taskgov.serve.server import App, Running, start
from tests.sql.scenarios import seed_events

TASKGOV = str(Path(sys.executable).with_name("taskgov"))
SEED_POLICY = Path(__file__).parents[2] / "taskgov" / "data" / "seed" / "policy.yaml"


@pytest.fixture(scope="session")
def seed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed's scenario (Jobs 1 to 3) stored by the real sink in a DuckDB file."""
    path = tmp_path_factory.mktemp("serve") / "seed.duckdb"
    sink = DuckDBSink(str(path))
    sink.add_all(seed_events())
    sink.flush()
    sink.close()
    # One recommendation run over it, so the recommendations page has a plan to show.
    subprocess.run(  # noqa: S603
        [TASKGOV, "recommend", "--policy", str(SEED_POLICY), "--db", str(path)],
        check=True,
        capture_output=True,
    )
    return path


@pytest.fixture(scope="session")
def seed_server(seed_db: Path) -> Iterator[Running]:
    """``taskgov serve``'s server over the seed's record, on a free loopback port."""
    running = start(App(seed_db), "127.0.0.1", 0)
    yield running
    running.close()
