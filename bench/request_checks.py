"""Request checks benchmark: what checking a query against its declaration (jsonschema) costs a request.

    .venv/bin/python bench/request_checks.py [--quick] [--rounds N] [--seconds S] [--markdown FILE]

Starts Anclora (SQLite, no Redis, as `anclora serve`) with one account and a few files, then in each round runs
wrk, alternating, against the same listing asked two ways: `GET /api/files` (no parameters sent: nothing to
check, the defaults are used) and `GET /api/files?limit=100&offset=0` (the same answer, its parameters typed and
checked against the declared schema). Prints the medians of requests per second, p99 latency and server CPU
milliseconds per request, and the load average.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_ticks, markdown_table, median, settle, text_table  # noqa: E402
from auth import credentials, start_servers, wrk_with  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def upload(url: str, key: str, content: bytes) -> None:
    request = urllib.request.Request(url + "/api/files", data=content, method="POST", headers={"X-API-Key": key})
    urllib.request.urlopen(request, timeout=30).close()


def measure(pid: int, url: str, key: str, seconds: int, connections: int) -> tuple[float, float, float]:
    """(requests per second, p99 ms, server CPU ms per request) of one wrk run."""
    before = cpu_ticks(pid)
    rps, p99 = wrk_with(url, seconds=seconds, connections=connections, headers={"X-API-Key": key})
    cpu_ms = (cpu_ticks(pid) - before) / TICK * 1000 / max(rps * seconds, 1)
    return rps, p99, cpu_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--markdown", help="also write the result table to this file")
    args = parser.parse_args()
    rounds, seconds = (1, 3) if args.quick else (args.rounds, args.seconds)
    with tempfile.TemporaryDirectory(prefix="anclora-bench-checks-") as folder:
        anclora, bare = start_servers(Path(folder))
        bare.stop()  # (only Anclora is measured here)
        try:
            _, key = credentials(anclora)
            for number in range(5):
                upload(anclora.url, key, f"file {number}".encode())
            contenders = {"GET /api/files (nothing to check)": anclora.url + "/api/files",
                          "GET /api/files?limit=100&offset=0 (checked)": anclora.url + "/api/files?limit=100&offset=0"}
            results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in contenders}
            for _ in range(rounds):
                for name, url in contenders.items():
                    settle(1)
                    results[name].append(measure(anclora.pid, url, key, seconds, args.connections))
        finally:
            anclora.stop()
    report(results, args, rounds, seconds)
    return 0


def report(results, args, rounds: int, seconds: int) -> None:
    headers = ["request", "requests/s (median)", "p99 ms (median)", "server CPU ms/request (median)"]
    rows = [[name, f"{median([r[0] for r in runs]):.0f}", f"{median([r[1] for r in runs]):.1f}",
             f"{median([r[2] for r in runs]):.3f}"] for name, runs in results.items()]
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    setup = (f"{rounds} round(s) of {seconds}s wrk runs, alternating, {args.connections} connections, one server "
             f"process; {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
             f"load average at the end {load}")
    print(setup)
    print(text_table(headers, rows))
    if args.markdown:
        Path(args.markdown).write_text(setup + "\n\n" + markdown_table(headers, rows) + "\n")


if __name__ == "__main__":
    sys.exit(main())
