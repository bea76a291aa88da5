"""Start benchmark: seconds from `scripts/serve.sh` to the server's first answer, on a second start.

    .venv/bin/python bench/start.py [--rounds N] [--without-install]

Each round, alternating: `scripts/serve.sh` as it is (the packaging unchanged since the last run: the install is
skipped), `scripts/serve.sh` without its stamp (the install runs again, as every start did before the stamp), and
`anclora serve --migrate` called directly (the floor: the server's own start). Each start is timed from the
command to the first answer of GET /api/health, then stopped with SIGTERM. The database and upload folder are
in a temporary folder, migrated by an uncounted first start. Prints medians, the CPU seconds each start cost (the
command and all its children) and the load average.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, VENV_BIN, free_port, median, text_table  # noqa: E402

STAMPS = [REPO / ".venv" / ".setup-stamp"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def first_answer(url: str, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("no answer")


def timed_start(argv: list[str], env: dict[str, str], port: int, log: Path) -> tuple[float, float]:
    """(seconds to the first answer, CPU seconds of the whole start and stop)."""
    cpu = children_cpu()
    started = time.monotonic()
    with open(log, "ab") as output:
        process = subprocess.Popen(argv + ["--port", str(port)], cwd=REPO, env=env, stdout=output,
                                   stderr=output, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        first_answer(f"http://127.0.0.1:{port}/api/health", process)
        seconds = time.monotonic() - started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)
    return seconds, children_cpu() - cpu


def stamps() -> dict[Path, str]:
    return {path: path.read_text() for path in STAMPS if path.exists()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--without-install", action="store_true",
                        help="leave out the start that installs again (a minute a round on a busy machine)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="anclora-bench-start-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{work}/anclora.db", "UPLOAD_FOLDER": str(work / "uploads"),
           "LOG_FILE": str(work / "server.log")}
    contenders = {
        "scripts/serve.sh, second start": [str(REPO / "scripts" / "serve.sh")],
        "scripts/serve.sh, install again": [str(REPO / "scripts" / "serve.sh")],
        "anclora serve (floor)": [str(VENV_BIN / "anclora"), "serve", "--migrate"],
    }
    if args.without_install:
        del contenders["scripts/serve.sh, install again"]
    timed_start(contenders["scripts/serve.sh, second start"], env, free_port(), work / "out.log")  # migrates
    kept = stamps()
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    try:
        for _ in range(args.rounds):
            for name, argv in contenders.items():
                if "again" in name:
                    for path in STAMPS:
                        path.unlink(missing_ok=True)
                took, used = timed_start(argv, env, free_port(), work / "out.log")
                seconds[name].append(took)
                cpu[name].append(used)
                for path, text in kept.items():  # (the install ran on unchanged packaging: same stamp)
                    path.write_text(text)
    finally:
        for path, text in kept.items():
            path.write_text(text)
    floor = median(seconds["anclora serve (floor)"])
    rows = [[name, f"{median(seconds[name]):.2f}", f"{min(seconds[name]):.2f}-{max(seconds[name]):.2f}",
             f"{median(cpu[name]):.2f}", f"{median(seconds[name]) / floor:.2f}x"] for name in contenders]
    print(text_table(["start", "median s to first answer", "range s", "CPU s", "vs floor"], rows))
    print(f"rounds: {args.rounds}; load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} cores")


if __name__ == "__main__":
    main()
