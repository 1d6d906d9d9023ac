"""The built wheel carries sql/ and the seed's files: installed (not editable) it runs alone.

The wheel is built from this checkout and installed without its dependencies into a fresh
virtual environment that borrows them from the running one (a ``.pth`` line: the editable
taskgov there is not picked up, since ``.pth`` files of a borrowed folder are not run). Every
command runs from a scratch directory, so nothing is read from the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from streams.sink_duckdb import DuckDBSink
from taskgov.store import connect_read_only
from taskgov.store.migrations import schema_migrations
from tests.sql.scenarios import random_events

ROOT = Path(__file__).resolve().parents[1]
# What the wheel is built from (the rest of the checkout is not packaged).
SOURCES = ("pyproject.toml", "setup.py", "README.md", "taskgov", "streams", "optimizer", "sql")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def _run(*args: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(  # noqa: S603 - our own interpreter, pip and console script
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=check
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv holding only the built wheel of taskgov."""
    scratch = tmp_path_factory.mktemp("wheel")
    source, dist = scratch / "source", scratch / "dist"
    source.mkdir()
    for name in SOURCES:  # setuptools builds in the tree: a copy keeps the checkout clean
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=IGNORED)
        else:
            shutil.copy2(ROOT / name, source / name)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, source, cwd=scratch)
    (wheel,) = dist.glob("taskgov-*.whl")
    venv = scratch / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=scratch)
    python = venv / "bin" / "python"
    purelib = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=scratch
    ).stdout.strip()
    (Path(purelib) / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel]
    _run(*pip, cwd=scratch)
    return venv / "bin"


def test_wheel_runs_the_offline_demo_from_its_own_files(installed: Path, tmp_path: Path) -> None:
    where = _run(
        installed / "python",
        "-c",
        "import taskgov, taskgov.store as s; print(taskgov.__file__); print(s.SQL_DIR)",
        cwd=tmp_path,
    ).stdout.split()
    demo = _run(installed / "taskgov", "demo", "--offline", cwd=tmp_path, check=False)
    checkout = _run(sys.executable, "-m", "taskgov.cli", "demo", "--offline", cwd=tmp_path)

    venv = installed.parent
    assert [Path(p).is_relative_to(venv) for p in where] == [True, True]
    assert (demo.returncode, demo.stderr) == (0, "")
    assert "Job 3 is submitted to hyperpod-ns-team-b" in demo.stdout
    assert demo.stdout == checkout.stdout


def test_wheel_migrates_and_runs_a_report(installed: Path, tmp_path: Path) -> None:
    db = tmp_path / "wheel.duckdb"
    migrated = _run(
        installed / "python",
        "-c",
        "import sys; from taskgov.store import connect_read_write, migrate;"
        " print(migrate(connect_read_write(sys.argv[1])))",
        db,
        cwd=tmp_path,
    )
    with DuckDBSink(db) as sink:
        sink.add_all(random_events(5, workloads=4))
    with connect_read_only(db) as conn:
        want = conn.execute("SELECT count(DISTINCT team) FROM usage_minutes").fetchall()
    listed = _run(installed / "taskgov", "report", "--list", "-o", "json", cwd=tmp_path)
    report = _run(
        installed / "taskgov", "report", "utilization", "--db", db, "-o", "json", cwd=tmp_path
    )

    assert migrated.stdout.strip() == str([m.version for m in schema_migrations()])
    assert "utilization" in {r["name"] for r in json.loads(listed.stdout)}
    assert len({r["team"] for r in json.loads(report.stdout)}) == want[0][0] > 0
