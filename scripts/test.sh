#!/usr/bin/env bash
# Set up everything the tests need and run the whole suite twice: on the embedded defaults (SQLite, no Redis, the
# local folder) and on PostgreSQL + Redis + S3 (a bucket of moto's S3 server, ANCLORA_TEST_STORAGE=s3). Tests
# marked storage_backends run on both storage backends in both passes; tests marked backend_independent (the
# playbooks) run in the first pass only. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
scripts/services.sh

status=0
echo "== lint: ruff, and the import-linter layers (docs/architecture.md)"
.venv/bin/ruff check . || status=1
.venv/bin/lint-imports || status=1
echo "== suite on SQLite, no Redis, the local folder"
env -u ANCLORA_TEST_DATABASE_URL -u ANCLORA_TEST_REDIS_URL -u ANCLORA_TEST_STORAGE \
  .venv/bin/python -m pytest -p no:cacheprovider "$@" || status=1
echo "== suite on PostgreSQL + Redis + S3"
ANCLORA_TEST_STORAGE=s3 \
ANCLORA_TEST_DATABASE_URL="${ANCLORA_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}" \
ANCLORA_TEST_REDIS_URL="${ANCLORA_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}" \
  .venv/bin/python -m pytest -p no:cacheprovider -m "not backend_independent" "$@" || status=1
exit $status
