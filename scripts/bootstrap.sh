#!/usr/bin/env bash
# Creates .venv with taskgov and its development tools; safe to run again.
# Needs Python 3.11 or newer with its venv module: `python3` on PATH, or the interpreter named
# by $PYTHON (e.g. PYTHON=python3.12 bash scripts/bootstrap.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! command -v "$python" >/dev/null 2>&1; then
    echo "scripts/bootstrap.sh: no $python on PATH; taskgov needs Python 3.11 or newer" >&2
    echo "  install it, or name one: PYTHON=/path/to/python3.11 bash $0" >&2
    exit 1
  fi
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    found=$("$python" -c 'import platform; print(platform.python_version())')
    echo "scripts/bootstrap.sh: $python is Python $found; taskgov needs Python 3.11 or newer" >&2
    echo "  name a newer one: PYTHON=/path/to/python3.11 bash $0" >&2
    exit 1
  fi
  if ! "$python" -m venv .venv; then
    rm -rf .venv
    echo "scripts/bootstrap.sh: $python cannot create a virtual environment" >&2
    echo "  on Debian/Ubuntu install its venv module (apt-get install python3-venv)" >&2
    exit 1
  fi
fi
stamp=.venv/.taskgov-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e '.[dev]'
  touch "$stamp"
fi
