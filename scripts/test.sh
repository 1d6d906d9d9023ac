#!/usr/bin/env bash
# The test command: installs what the tests need, then lint (ruff), types (mypy, bench/
# included) and the whole suite.
# Needs: Python 3.11+ (bootstrap.sh says how to choose it) and, unless they are installed
# already, root on Debian/Ubuntu for the system packages below (apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh

# Installs the Debian packages named (command:package pairs) whose commands are missing.
need_debian_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: the tests need the Debian packages: ${missing[*]}" >&2
    echo "  install them as root (sudo apt-get install ${missing[*]}), or run this as root" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "scripts/test.sh: the tests need ${missing[*]} and there is no apt-get to install them" >&2
    exit 1
  fi
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
}

# kubectl for the test that lists the twin's workloads through the served API; Prometheus,
# Alertmanager and Chromium for the tests of `taskgov serve` (scrape, alert delivery, the
# dashboard in a real browser driven by Playwright).
need_debian_packages kubectl:kubectl prometheus:prometheus \
  prometheus-alertmanager:prometheus-alertmanager chromium:chromium
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
