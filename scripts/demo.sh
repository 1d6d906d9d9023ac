#!/usr/bin/env bash
# The main job on embedded defaults: installs taskgov, then runs `taskgov demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/taskgov demo "$@"
