"""``taskgov twin serve`` as a user runs it, with kubectl pointed at the kubeconfig it writes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.twin.apiserver_helpers import SCENARIO, kubectl, parse_table


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    workdir = tmp_path_factory.mktemp("twin-serve")
    path = workdir / "kubeconfig"
    command = [sys.executable, "-m", "taskgov.cli", "twin", "serve", str(SCENARIO)]
    process = subprocess.Popen(
        [*command, "--speed", "1000", "--kubeconfig", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_ready(path, process)
        time.sleep(0.5)  # five simulated seconds at 1000x: the scenario has played
        yield path
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
        assert process.returncode == 0, stderr
        assert f"twin serving {SCENARIO}" in stderr


def _wait_ready(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        if path.exists():
            server = yaml.safe_load(path.read_text())["clusters"][0]["cluster"]["server"]
            with urllib.request.urlopen(f"{server}/readyz", timeout=5) as response:  # noqa: S310
                if response.read() == b"ok":
                    return
        time.sleep(0.2)
    pytest.fail("taskgov twin serve did not become ready in 60 s")


def test_twin_serve_answers_kubectl_by_kueue_short_names(kubeconfig: Path) -> None:
    result = kubectl(kubeconfig, "get", "kwl,cq,lq,wpc", "-A", "-o", "name")
    assert len(result.stdout.split()) == 6 + 2 + 2 + 1


def test_twin_serve_prints_cluster_queue_columns(kubeconfig: Path) -> None:
    rows = parse_table(kubectl(kubeconfig, "get", "cq").stdout)
    assert rows == [
        {"NAME": "cq-a", "COHORT": "pool", "PENDING WORKLOADS": "1"},
        {"NAME": "cq-b", "COHORT": "pool", "PENDING WORKLOADS": "1"},
    ]
