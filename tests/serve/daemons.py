"""Debian's real Prometheus and Alertmanager, started for one test on loopback ports."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
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


def get_answer(url: str, accept: str | None = None) -> tuple[int, Any]:
    """Status and body (decoded JSON when it parses, else text) of a GET on a loopback server;
    an HTTP error status is an answer too."""
    headers = {"Accept": accept} if accept else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode()


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
def serving(
    tmp: Path, name: str, config: dict[str, Any], flags: list[str], ready: str
) -> Iterator[str]:
    """Debian's ``name`` with ``config`` (written to ``tmp/NAME.yml``), ``flags`` and a
    loopback web port; yields its base URL once GET ``ready`` answers."""
    port = free_port()
    (tmp / f"{name}.yml").write_text(yaml.safe_dump(config))
    command = [
        binary(name),
        f"--config.file={tmp / f'{name}.yml'}",
        *flags,
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    base = f"http://127.0.0.1:{port}"
    with running(command, tmp / f"{name}.log"):
        wait_until(lambda: get_text(base + ready), 30, f"{name} ready")
        yield base


@contextmanager
def prometheus(tmp: Path, target: str, rule_files: list[Path] | None = None) -> Iterator[str]:
    """Prometheus scraping ``target`` (host:port) every second; yields its base URL."""
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in rule_files or []],
        "scrape_configs": [{"job_name": "taskgov", "static_configs": [{"targets": [target]}]}],
    }
    flags = [f"--storage.tsdb.path={tmp / 'tsdb'}"]
    with serving(tmp, "prometheus", config, flags, "/-/ready") as base:
        yield base


@contextmanager
def alertmanager(tmp: Path) -> Iterator[str]:
    """Alertmanager with one receiver that sends nowhere; yields its base URL."""
    config = {
        "route": {"receiver": "nowhere", "group_by": ["alertname"], "group_wait": "1s"},
        "receivers": [{"name": "nowhere"}],
    }
    flags = [
        f"--storage.path={tmp / 'am'}",
        f"--cluster.listen-address=127.0.0.1:{free_port()}",
    ]
    with serving(tmp, "prometheus-alertmanager", config, flags, "/api/v2/status") as base:
        yield base
