#!/usr/bin/env bash
# The test command: installs what the tests need, then lint and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# kubectl (Debian's package) for the test that lists the twin's workloads through the served API.
if ! command -v kubectl >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq kubectl >/dev/null
fi
# Debian's Prometheus, Alertmanager and Chromium for the tests of `taskgov serve` (scrape,
# alert delivery, the dashboard in a real browser driven by Playwright).
if ! command -v prometheus >/dev/null 2>&1 || ! command -v prometheus-alertmanager >/dev/null 2>&1 \
  || ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq prometheus prometheus-alertmanager chromium >/dev/null
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -q "$@"
