"""scripts/bootstrap.sh and scripts/test.sh say what they need instead of failing obscurely.

Each runs in a copy of the scripts beside stand-ins (an old Python, a non-root `id`), so the
checks run before anything is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _checkout(tmp_path: Path) -> Path:
    """The scripts and pyproject.toml in a fresh folder, and a bin/ of stand-in commands."""
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "bin").mkdir()
    for tool in ("bash", "dirname", "rm", "touch"):
        found = shutil.which(tool)
        assert found is not None
        (tmp_path / "bin" / tool).symlink_to(found)
    return tmp_path


def _stand_in(path: Path, script: str) -> Path:
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


def _run(checkout: Path, script: str, env: dict[str, str]) -> tuple[int, str]:
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run(  # noqa: S603 - our own script
        [bash, str(checkout / "scripts" / script)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(checkout / "bin"), "HOME": str(checkout), **env},
    )
    return done.returncode, done.stderr


@pytest.mark.parametrize(
    ("python", "want_stderr"),
    [
        pytest.param(
            'case "$2" in *platform*) echo 3.10.12;; *) exit 1;; esac\n',
            "scripts/bootstrap.sh: {python} is Python 3.10.12; taskgov needs Python 3.11 or "
            "newer\n  name a newer one: PYTHON=/path/to/python3.11 bash {script}\n",
            id="a Python older than 3.11 is named, with how to choose another",
        ),
        pytest.param(
            None,
            "scripts/bootstrap.sh: no {python} on PATH; taskgov needs Python 3.11 or newer\n"
            "  install it, or name one: PYTHON=/path/to/python3.11 bash {script}\n",
            id="no Python at all says which version is needed",
        ),
    ],
)
def test_bootstrap_refuses_a_python_older_than_3_11(
    tmp_path: Path, python: str | None, want_stderr: str
) -> None:
    checkout = _checkout(tmp_path)
    interpreter = checkout / "bin" / "python3"
    if python is not None:
        _stand_in(interpreter, python)
    code, stderr = _run(checkout, "bootstrap.sh", {"PYTHON": str(interpreter)})
    script = checkout / "scripts" / "bootstrap.sh"
    assert (code, stderr) == (1, want_stderr.format(python=interpreter, script=script))
    assert not (checkout / ".venv").exists()


def test_test_sh_without_root_names_the_packages_to_install(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    # An installed .venv (so bootstrap has nothing to do) and a user who is not root.
    venv_bin = checkout / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    _stand_in(venv_bin / "python", "exit 0\n")
    (checkout / ".venv" / ".taskgov-installed").touch()
    os.utime(checkout / "pyproject.toml", (0, 0))
    _stand_in(checkout / "bin" / "id", "echo 1000\n")
    _stand_in(checkout / "bin" / "apt-get", "echo apt-get must not run >&2; exit 9\n")
    code, stderr = _run(checkout, "test.sh", {})
    assert (code, stderr) == (
        1,
        "scripts/test.sh: the tests need the Debian packages: kubectl prometheus "
        "prometheus-alertmanager chromium\n"
        "  install them as root (sudo apt-get install kubectl prometheus "
        "prometheus-alertmanager chromium), or run this as root\n",
    )
