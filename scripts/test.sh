#!/usr/bin/env bash
# Set up everything the tests need and run the whole suite twice: on the embedded defaults (SQLite, no Redis)
# and on PostgreSQL + Redis. Tests marked backend_independent (the playbooks) run in the first pass only.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
scripts/services.sh

status=0
echo "== lint: ruff, and the import-linter layers (docs/architecture.md)"
.venv/bin/ruff check . || status=1
.venv/bin/lint-imports || status=1
echo "== suite on SQLite, no Redis"
env -u ANCLORA_TEST_DATABASE_URL -u ANCLORA_TEST_REDIS_URL .venv/bin/python -m pytest -p no:cacheprovider "$@" || status=1
echo "== suite on PostgreSQL + Redis"
ANCLORA_TEST_DATABASE_URL="${ANCLORA_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}" \
ANCLORA_TEST_REDIS_URL="${ANCLORA_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}" \
  .venv/bin/python -m pytest -p no:cacheprovider -m "not backend_independent" "$@" || status=1
exit $status
