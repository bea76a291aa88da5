"""Web page benchmark: the page and one of its scripts against a bare Tornado app answering the same bytes, in the
same run.

    .venv/bin/python bench/web_page.py [--quick] [--rounds N] [--seconds S] [--markdown FILE]

Starts Anclora (SQLite, no Redis, as `anclora serve`) and a bare Tornado app that writes the same script bytes
from memory; each round runs wrk, alternating, against: the bare app; `GET /static/convert.<hash>.js` (a
content-hash lookup, immutable caching headers, no session); and `GET /` (the page: a new anonymous session cookie
each time, the CSP headers). Prints the medians of requests per second, p99 latency, the server's CPU
microseconds per request, and the load average at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (VENV_BIN, Server, cpu_ticks, free_port, markdown_table, median, settle,  # noqa: E402
                     text_table, tree_pids, wrk)

from anclora import web  # noqa: E402

BARE_APP = """\
import asyncio, sys, tornado.web
BODY = open(sys.argv[2], "rb").read()
class Script(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        self.write(BODY)
async def main():
    tornado.web.Application([(r"/script.js", Script)]).listen(int(sys.argv[1]), "127.0.0.1")
    await asyncio.Event().wait()
asyncio.run(main())
"""
TICKS = os.sysconf("SC_CLK_TCK")


def start_servers(work: Path, script: bytes) -> tuple[Server, Server]:
    port = free_port()
    env = {"UPLOAD_FOLDER": str(work / "uploads"), "DATABASE_URL": f"sqlite:///{work}/anclora.db",
           "ANCLORA_PORT": str(port), "JWT_SECRET_KEY": secrets.token_hex(32), "LOG_LEVEL": "WARNING",
           "REDIS_URL": ""}
    anclora = Server("anclora", [str(VENV_BIN / "anclora"), "serve", "--migrate"], url=f"http://127.0.0.1:{port}",
                     ready_path="/api/health", env=env, cwd=work, log=work / "anclora.log").start()
    (work / "bare.py").write_text(BARE_APP)
    (work / "script.js").write_bytes(script)
    bare_port = free_port()
    bare = Server("bare", [str(VENV_BIN / "python"), str(work / "bare.py"), str(bare_port), str(work / "script.js")],
                  url=f"http://127.0.0.1:{bare_port}", ready_path="/script.js", cwd=work,
                  log=work / "bare.log").start()
    return anclora, bare


def measured(server: Server, url: str, seconds: int, connections: int) -> tuple[float, float, float]:
    """(requests/s, p99 ms, server CPU microseconds per request) of one wrk run."""
    before = sum(cpu_ticks(pid) for pid in tree_pids(server.pid))
    rps, p99 = wrk(url, seconds=seconds, connections=connections)
    used = (sum(cpu_ticks(pid) for pid in tree_pids(server.pid)) - before) / TICKS
    return rps, p99, 1e6 * used / max(rps * seconds, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--markdown", help="also write the result table to this file")
    args = parser.parse_args()
    rounds, seconds = (1, 3) if args.quick else (args.rounds, args.seconds)
    [script] = [asset for asset in web.assets().values() if asset.name.startswith("convert.")]

    with tempfile.TemporaryDirectory(prefix="anclora-bench-web-") as folder:
        anclora, bare = start_servers(Path(folder), script.body)
        contenders = {
            "bare Tornado, the same script bytes": (bare, bare.url + "/script.js"),
            f"GET /static/{script.name}": (anclora, f"{anclora.url}/static/{script.name}"),
            "GET / (the page, a new session each time)": (anclora, anclora.url + "/"),
        }
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in contenders}
        try:
            for _ in range(rounds):
                for name, (server, url) in contenders.items():
                    settle(1)
                    results[name].append(measured(server, url, seconds, args.connections))
        finally:
            anclora.stop()
            bare.stop()
    report(results, args, rounds, seconds)
    return 0


def report(results, args, rounds: int, seconds: int) -> None:
    headers = ["endpoint", "requests/s (median)", "p99 ms (median)", "server CPU µs/request (median)"]
    rows = [[name, f"{median([r[0] for r in runs]):.0f}", f"{median([r[1] for r in runs]):.1f}",
             f"{median([r[2] for r in runs]):.0f}"] for name, runs in results.items()]
    setup = (f"{rounds} round(s) of {seconds}s wrk runs, {args.connections} connections, one server process each; "
             f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
             f"load average at the end {os.getloadavg()[0]:.2f}")
    print(setup)
    print(text_table(headers, rows))
    if args.markdown:
        Path(args.markdown).write_text(setup + "\n\n" + markdown_table(headers, rows) + "\n")


if __name__ == "__main__":
    sys.exit(main())
