#!/usr/bin/env bash
# Set up and run Anclora with its embedded defaults: SQLite, local storage, in-process queue, no Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/anclora serve --migrate "$@"
