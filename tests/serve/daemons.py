"""Debian's real Prometheus and Alertmanager, started for one test on loopback ports."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml


def free_port() -> int:
    """A port the kernel says is free now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def binary(name: str) -> str:
    """The path of Debian's ``name``; the test command installs it, so missing fails."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (scripts/test.sh installs it with apt-get)")
    return found


def get_json(url: str, timeout_s: float = 5.0) -> Any:
    """GET ``url`` and decode its JSON body."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def get_text(url: str, timeout_s: float = 5.0) -> str:
    """GET ``url`` and return its body as text."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - loopback
        return str(response.read().decode())


def wait_until(check: Any, timeout_s: float, what: str) -> Any:
    """Call ``check`` until it returns something truthy; fail naming ``what`` after timeout."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except OSError as error:
            last = error
        else:
            if last:
                return last
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}; last: {last!r}")


@contextmanager
def running(command: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` with its output in ``log``; stop it (and wait) afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def prometheus(tmp: Path, target: str, rule_files: list[Path] | None = None) -> Iterator[str]:
    """Prometheus scraping ``target`` (host:port) every second; yields its base URL."""
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in rule_files or []],
        "scrape_configs": [{"job_name": "taskgov", "static_configs": [{"targets": [target]}]}],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    command = [
        binary("prometheus"),
        f"--config.file={tmp / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    base = f"http://127.0.0.1:{port}"
    with running(command, tmp / "prometheus.log"):
        wait_until(lambda: get_text(f"{base}/-/ready"), 30, "prometheus ready")
        yield base


@contextmanager
def alertmanager(tmp: Path) -> Iterator[str]:
    """Alertmanager with one receiver that sends nowhere; yields its base URL."""
    port, cluster_port = free_port(), free_port()
    config = {
        "route": {"receiver": "nowhere", "group_by": ["alertname"], "group_wait": "1s"},
        "receivers": [{"name": "nowhere"}],
    }
    (tmp / "alertmanager.yml").write_text(yaml.safe_dump(config))
    command = [
        binary("prometheus-alertmanager"),
        f"--config.file={tmp / 'alertmanager.yml'}",
        f"--storage.path={tmp / 'am'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--cluster.listen-address=127.0.0.1:{cluster_port}",
    ]
    base = f"http://127.0.0.1:{port}"
    with running(command, tmp / "alertmanager.log"):
        wait_until(lambda: get_json(f"{base}/api/v2/status"), 30, "alertmanager ready")
        yield base
