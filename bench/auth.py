"""Accounts benchmark: login and token checks against a bare Tornado JSON endpoint, in the same run.

    .venv/bin/python bench/auth.py [--quick] [--rounds N] [--seconds S] [--markdown FILE]

Starts Anclora (SQLite, no Redis, as `anclora serve`) and a bare Tornado app answering a constant JSON object,
then in each round runs wrk against: the bare endpoint; `GET /api/me` with a bearer token (JWT check, revocation
check, user lookup, then balance, limits and usage) and with an API key (sha256 lookup); the static
`GET /api/billing/packs` with a bearer token and anonymously (the token check alone; the session-cookie path);
`GET /api/me` anonymous; and `POST /api/auth/login` (argon2id verify, throttling counters, a refresh token
written). Prints the medians of
requests per second and p99 latency, and each contender's median ratio to the bare endpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import VENV_BIN, Server, free_port, markdown_table, median, settle, text_table  # noqa: E402

BARE_APP = """\
import asyncio, sys, tornado.web
class Json(tornado.web.RequestHandler):
    def get(self):
        self.write({"id": "00000000-0000-0000-0000-000000000000", "email": "someone@example.org", "level": 1})
async def main():
    tornado.web.Application([(r"/json", Json)]).listen(int(sys.argv[1]), "127.0.0.1")
    await asyncio.Event().wait()
asyncio.run(main())
"""
LOGIN_SCRIPT = """\
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
"""
EMAIL, PASSWORD = "bench@example.org", "benchmark password"


def start_servers(work: Path) -> tuple[Server, Server]:
    port = free_port()
    env = {"UPLOAD_FOLDER": str(work / "uploads"), "DATABASE_URL": f"sqlite:///{work}/anclora.db",
           "ANCLORA_PORT": str(port), "JWT_SECRET_KEY": secrets.token_hex(32), "LOG_LEVEL": "WARNING",
           "REDIS_URL": "", "ANCLORA_LOGIN_ATTEMPTS": "1000000"}
    anclora = Server("anclora", [str(VENV_BIN / "anclora"), "serve", "--migrate"], url=f"http://127.0.0.1:{port}",
                     ready_path="/api/health", env=env, cwd=work, log=work / "anclora.log").start()
    (work / "bare.py").write_text(BARE_APP)
    bare_port = free_port()
    bare = Server("bare", [str(VENV_BIN / "python"), str(work / "bare.py"), str(bare_port)],
                  url=f"http://127.0.0.1:{bare_port}", ready_path="/json", cwd=work, log=work / "bare.log").start()
    return anclora, bare


def post_json(url: str, body: dict, headers: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def credentials(anclora: Server) -> tuple[str, str]:
    """(access token, API key) of a fresh account."""
    token = post_json(anclora.url + "/api/auth/register", {"email": EMAIL, "password": PASSWORD})["access_token"]
    key = post_json(anclora.url + "/api/me/api-keys", {"name": "bench"}, {"Authorization": f"Bearer {token}"})
    return token, key["key"]


def wrk_with(url: str, *, seconds: int, connections: int, headers: dict | None = None,
             script: Path | None = None) -> tuple[float, float]:
    """(requests per second, p99 ms) like `_common.wrk`, with request headers and an optional Lua script."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    argv += [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    if script:
        argv += ["-s", str(script)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses under wrk")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--markdown", help="also write the result tables to this file")
    args = parser.parse_args()
    rounds, seconds = (1, 3) if args.quick else (args.rounds, args.seconds)

    with tempfile.TemporaryDirectory(prefix="anclora-bench-auth-") as folder:
        work = Path(folder)
        anclora, bare = start_servers(work)
        try:
            token, key = credentials(anclora)
            login = work / "login.lua"
            login.write_text(LOGIN_SCRIPT.format(body=json.dumps({"email": EMAIL, "password": PASSWORD})))
            contenders = {
                "bare Tornado JSON": (bare.url + "/json", {}, None),
                "GET /api/me, bearer token": (anclora.url + "/api/me", {"Authorization": f"Bearer {token}"}, None),
                "GET /api/me, API key": (anclora.url + "/api/me", {"X-API-Key": key}, None),
                "GET /api/billing/packs, bearer token": (anclora.url + "/api/billing/packs",
                                                         {"Authorization": f"Bearer {token}"}, None),
                "GET /api/billing/packs, anonymous": (anclora.url + "/api/billing/packs", {}, None),
                "GET /api/me, anonymous": (anclora.url + "/api/me", {}, None),
                "POST /api/auth/login": (anclora.url + "/api/auth/login", {}, login),
            }
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
            for _ in range(rounds):
                for name, (url, headers, script) in contenders.items():
                    settle(1)
                    results[name].append(wrk_with(url, seconds=seconds, connections=args.connections,
                                                  headers=headers, script=script))
        finally:
            anclora.stop()
            bare.stop()
    report(results, args, rounds, seconds)
    return 0


def report(results, args, rounds: int, seconds: int) -> None:
    bare = [rps for rps, _ in results["bare Tornado JSON"]]
    headers = ["endpoint", "requests/s (median)", "p99 ms (median)", "ratio to bare (median)"]
    rows = []
    for name, runs in results.items():
        ratios = [rps / base for (rps, _), base in zip(runs, bare)]
        rows.append([name, f"{median([r for r, _ in runs]):.0f}", f"{median([p for _, p in runs]):.1f}",
                     f"{median(ratios):.3f}"])
    setup = (f"{rounds} round(s) of {seconds}s wrk runs, {args.connections} connections, one server process each; "
             f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(setup)
    print(text_table(headers, rows))
    if args.markdown:
        Path(args.markdown).write_text(setup + "\n\n" + markdown_table(headers, rows) + "\n")


if __name__ == "__main__":
    sys.exit(main())
