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
  libreoffice-impress-nogui python3-uno ffmpeg poppler-utils fonts-dejavu-core util-linux chromium qpdf
  # OCR and PDF/A (OCRmyPDF drives Tesseract and Ghostscript); more languages: tesseract-ocr-<code>
  ocrmypdf tesseract-ocr tesseract-ocr-eng tesseract-ocr-spa tesseract-ocr-deu tesseract-ocr-fra ghostscript)
TEST_PACKAGES=(postgresql redis-server
  # the operations tests provision this machine into a staging root and check what they write
  nginx cron sqlite3 logrotate systemd postgresql-client
  # the README's "Try it" block, run as written by tests/test_readme.py
  curl jq
  # tests/scanning run /usr/sbin/clamd on a private socket with their own one-signature database (neither
  # Debian's service nor freshclam is used)
  clamav-daemon)
BENCH_PACKAGES=(wrk)

# A stamp of the packaging files (and of this script, which lists the Debian packages) and of how much was
# installed (0 the package, 1 with bench, 2 with test): when the last successful run left the same files and as
# much, there is nothing to install, and a second `scripts/serve.sh` starts at once.
level=$((WANT_TEST + WANT_BENCH))
stamp_file=.venv/.setup-stamp
stamp="$(cat setup.cfg setup.py scripts/setup.sh tests/js/package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1) $(${PYTHON:-python3} -V 2>&1)"
if [ -x .venv/bin/anclora ] && [ -f "$stamp_file" ]; then
  read -r installed_level installed_stamp < "$stamp_file" || true
  if [ "$installed_stamp" = "$stamp" ] && [ "${installed_level:-0}" -ge "$level" ]; then
    exit 0
  fi
fi
rm -f "$stamp_file"

if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi

missing=()
packages=("${RUNTIME_PACKAGES[@]}")
[ "$WANT_TEST" = 1 ] && packages+=("${TEST_PACKAGES[@]}")
[ "$WANT_BENCH" = 1 ] && packages+=("${BENCH_PACKAGES[@]}")
# tests/js: third-party JavaScript clients (tus-js-client) run against a live server. Node.js may come from
# elsewhere than Debian (with its own npm, which Debian's npm package conflicts with): only a missing one is added.
if [ "$WANT_TEST" = 1 ] && ! { command -v node && command -v npm; } >/dev/null; then
  packages+=(nodejs npm)
fi
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
if [ "$WANT_TEST" = 1 ]; then
  if [ -f tests/js/package.json ]; then (cd tests/js && npm ci --silent --no-audit --no-fund); fi
fi
echo "setup: ready ($(.venv/bin/anclora --version))"
echo "$level $stamp" > "$stamp_file"
