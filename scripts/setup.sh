#!/usr/bin/env bash
# Set up Anclora on Debian/Ubuntu: system packages (as root or with sudo), a virtual environment, the package.
# Usage: scripts/setup.sh [--test] [--bench]
#   --test   adds what the test suite needs (PostgreSQL, Redis, test tools) and what the benchmarks need
#   --bench  adds what the benchmarks in bench/ need (wrk, gunicorn, flask, psutil, unoserver)
set -euo pipefail
cd "$(dirname "$0")/.."

WANT_TEST=0
WANT_BENCH=0
for arg in "$@"; do
  case "$arg" in
    --test) WANT_TEST=1; WANT_BENCH=1 ;;
    --bench) WANT_BENCH=1 ;;
    *) echo "setup: unknown option $arg (use --test or --bench)" >&2; exit 2 ;;
  esac
done

RUNTIME_PACKAGES=(python3 python3-venv python3-dev gcc libreoffice-writer-nogui libreoffice-calc-nogui
  libreoffice-impress-nogui python3-uno ffmpeg poppler-utils fonts-dejavu-core util-linux)
TEST_PACKAGES=(postgresql redis-server
  # the operations tests provision this machine into a staging root and check what they write
  nginx cron sqlite3 logrotate systemd postgresql-client
  # the web page's tests drive this browser with Playwright (never `playwright install`, which downloads one)
  chromium)
BENCH_PACKAGES=(wrk)

if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi

missing=()
packages=("${RUNTIME_PACKAGES[@]}")
[ "$WANT_TEST" = 1 ] && packages+=("${TEST_PACKAGES[@]}")
[ "$WANT_BENCH" = 1 ] && packages+=("${BENCH_PACKAGES[@]}")
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$SUDO" = none ]; then
    echo "setup: missing Debian packages (${missing[*]}); run as root or with sudo to install them." >&2
  else
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
extras=""
[ "$WANT_BENCH" = 1 ] && extras="bench"
[ "$WANT_TEST" = 1 ] && extras="test,bench"
target="."
[ -n "$extras" ] && target=".[${extras}]"
.venv/bin/python -m pip install -q -e "$target" 2>&1 | grep -vE '^WARNING: Location|^\s*$' | grep -v 'WheelFile' || true
echo "setup: ready ($(.venv/bin/anclora --version))"
