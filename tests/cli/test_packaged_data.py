"""The real traces ship inside taskgov: found with nothing set, overridable, in the wheel."""

from __future__ import annotations

import gzip
import tomllib
from pathlib import Path

import pytest

from taskgov.settings import (
    PACKAGED_DATA_DIR,
    PHILLY_JOBS,
    PHILLY_NODES,
    data_file,
    load_settings,
)
from taskgov.twin.trace import load_trace, philly_quotas

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "taskgov"


def test_data_dir_defaults_to_the_packaged_traces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TASKGOV_DATA_DIR", raising=False)
    monkeypatch.delenv("TASKGOV_CONFIG", raising=False)
    data_dir = load_settings().data_dir
    assert (data_dir, data_file(data_dir, PHILLY_JOBS)) == (
        PACKAGE / "data" / "traces",
        PACKAGE / "data" / "traces" / "philly-vc" / "jobs.csv.gz",
    )


def test_data_dir_setting_overrides_and_takes_plain_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "philly-vc").mkdir()
    plain = tmp_path / "philly-vc" / "jobs.csv"
    plain.write_bytes(gzip.decompress((PACKAGED_DATA_DIR / PHILLY_JOBS).read_bytes()))
    monkeypatch.setenv("TASKGOV_DATA_DIR", str(tmp_path))
    data_dir = load_settings().data_dir
    assert (data_dir, data_file(data_dir, PHILLY_JOBS)) == (tmp_path, plain)


def test_packaged_philly_trace_is_the_whole_trace() -> None:
    quotas = philly_quotas(PACKAGED_DATA_DIR / PHILLY_NODES)
    scenario = load_trace(PACKAGED_DATA_DIR / PHILLY_JOBS, quotas)
    assert (len(scenario.workloads), len(scenario.cluster_queues), len(quotas)) == (
        15_264,
        15,
        11,
    )


def test_every_data_file_is_package_data_and_attributed() -> None:
    """A built wheel holds every file under taskgov/data (setuptools' package-data globs), and
    the data README names each trace file and its licence."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["taskgov"]
    data_files = sorted(
        str(path.relative_to(PACKAGE))
        for path in (PACKAGE / "data").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    packaged = {str(path.relative_to(PACKAGE)) for p in patterns for path in PACKAGE.glob(p)}
    assert [f for f in data_files if f not in packaged] == []
    readme = (PACKAGE / "data" / "README.md").read_text()
    for name, licence in ((PHILLY_JOBS, "CC BY 4.0"), (PHILLY_NODES, "MIT")):
        section = readme.split(f"## traces/{name}")[1].split("\n## ")[0]
        assert licence in section
