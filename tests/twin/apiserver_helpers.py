"""Running Debian's kubectl and plain HTTP against a served twin, and reading kubectl's tables."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from taskgov.twin.serve import RunningTwinServer
from tests.serve.daemons import get_answer

SCENARIO = Path(__file__).parent / "data" / "apiserver.yaml"


def kubectl_path() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is not installed (scripts/test.sh installs Debian's package)")
    return found


def kubectl(
    kubeconfig: Path, *args: str, timeout_s: float = 60, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run kubectl with the twin's kubeconfig and a private discovery cache."""
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    cache = kubeconfig.parent / "kube-cache"
    result = subprocess.run(
        [kubectl_path(), f"--cache-dir={cache}", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout_s,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr}"
        )
    return result


def parse_table(text: str) -> list[dict[str, str]]:
    """Rows of a kubectl table, cells cut at the header's column starts (cells may be empty)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=\s{2}))\S", header)]
    names = [header[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
    rows = []
    for line in lines[1:]:
        if line.startswith(header.split()[0] + " ") and line.split() == header.split():
            continue  # a header printed again
        cells = [line[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows


@dataclass
class Served:
    """The served twin, its kubeconfig, what ``kubectl --watch`` printed, and a client."""

    server: RunningTwinServer
    kubeconfig: Path
    watch_output: str
    api: client.CustomObjectsApi


def http_get(served: Served, path: str, accept: str = "application/json") -> tuple[int, Any]:
    """Status and body (JSON when it parses) of a GET on the served twin."""
    return get_answer(served.server.url + path, accept)
