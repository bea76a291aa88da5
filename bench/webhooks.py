"""Webhook delivery latency: from a conversion's end (its `finished_at`) to the listener receiving the event,
beside the same end seen by a client following `GET /api/conversions/{id}/events` (Server-Sent Events).

    .venv/bin/python bench/webhooks.py [--conversions N] [--job-seconds S]

Starts `anclora serve` (SQLite) with a benchmark converter that takes `--job-seconds` (so the event stream is
open before the job ends) and a listener on 127.0.0.1 (a threading http.server). After one uncounted round
(the first delivery loads httpx), the conversions alternate: one with `webhook_url`, one followed by its event
stream. Prints p50 and p99 of each, the server's CPU seconds
per conversion and the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import VENV_BIN, Server, cpu_ticks, free_port, text_table, tree_pids  # noqa: E402

PLUGIN = '''
import asyncio
from anclora import Converter, hookimpl

class PausedText(Converter):
    name = "bench_paused_text"
    sources = ("txt",)
    targets = ("md",)

    async def convert(self, src, dst, options, ctx):
        await asyncio.sleep({seconds})
        dst.write_bytes(src.read_bytes())

@hookimpl
def anclora_register_converters():
    return [PausedText()]
'''


class Listener(ThreadingHTTPServer):
    """Keeps when each conversion's event arrived (time.time())."""

    def __init__(self):
        self.arrived: dict[str, tuple[float, dict]] = {}
        self.changed = threading.Condition()
        super().__init__(("127.0.0.1", 0), _Receive)

    def wait(self, conversion_id: str, timeout: float = 30.0) -> tuple[float, dict]:
        with self.changed:
            if not self.changed.wait_for(lambda: conversion_id in self.arrived, timeout):
                raise TimeoutError(f"no webhook for {conversion_id}")
            return self.arrived[conversion_id]


class _Receive(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        at = time.time()
        event = json.loads(body)
        self.send_response(204)
        self.end_headers()
        with self.server.changed:
            self.server.arrived[event["conversion"]["id"]] = (at, event["conversion"])
            self.server.changed.notify_all()

    def log_message(self, *args):
        pass


def finished_at(conversion: dict) -> float:
    return dt.datetime.fromisoformat(conversion["finished_at"].replace("Z", "+00:00")).timestamp()


def start_server(folder: Path, job_seconds: float) -> Server:
    plugins = folder / "plugins"
    plugins.mkdir()
    (plugins / "bench_paused.py").write_text(PLUGIN.format(seconds=job_seconds))
    port = free_port()
    bundled = sorted(path.stem for path in (Path(__file__).resolve().parents[1] / "plugins").glob("*.py")
                     if not path.name.startswith("_"))
    env = {"DATABASE_URL": f"sqlite:///{folder}/anclora.db", "UPLOAD_FOLDER": str(folder / "uploads"),
           "ANCLORA_PORT": str(port), "ANCLORA_PLUGINS_DIRS": str(plugins), "ANCLORA_PLUGINS_ENTRYPOINTS": "false",
           "ANCLORA_PLUGINS_BLOCK": ",".join(bundled + ["billing"]), "ANCLORA_WEBHOOK_PRIVATE_TARGETS": "true",
           "ANCLORA_PLAN_LIMITS": json.dumps({"free": {"conversions_per_day": 100000, "uploads_per_minute": 100000}}),
           "LOG_LEVEL": "WARNING"}
    return Server("anclora", [str(VENV_BIN / "anclora"), "serve", "--migrate"], url=f"http://127.0.0.1:{port}",
                  ready_path="/api/health", cwd=folder, log=folder / "server.log", env=env).start()


def convert(client: httpx.Client, file_id: str, **extra) -> str:
    response = client.post("/api/conversions", json={"file_id": file_id, "to": "md", **extra})
    response.raise_for_status()
    return response.json()["id"]


def by_webhook(client: httpx.Client, listener: Listener, file_id: str, url: str) -> float:
    at, conversion = listener.wait(convert(client, file_id, webhook_url=url))
    return at - finished_at(conversion)


def by_events(client: httpx.Client, file_id: str) -> float:
    conversion_id = convert(client, file_id)
    with client.stream("GET", f"/api/conversions/{conversion_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                conversion = json.loads(line[5:])
                if conversion["status"] in ("succeeded", "failed", "canceled"):
                    return time.time() - finished_at(conversion)
    raise RuntimeError("the event stream ended before the conversion")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversions", type=int, default=100, help="conversions of each kind")
    parser.add_argument("--job-seconds", type=float, default=0.2)
    args = parser.parse_args()
    listener = Listener()
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{listener.server_address[1]}/hook"
    with tempfile.TemporaryDirectory(prefix="anclora-bench-") as tmp:
        server = start_server(Path(tmp), args.job_seconds)
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                account = {"email": f"bench-{uuid.uuid4().hex[:8]}@example.org", "password": "bench password 123"}
                token = client.post("/api/auth/register", json=account).json()["access_token"]
                client.headers["Authorization"] = f"Bearer {token}"
                file_id = client.post("/api/files?filename=a.txt", content=b"bench").json()["id"]
                by_webhook(client, listener, file_id, hook_url)  # warm-up: the first delivery loads httpx
                by_events(client, file_id)
                pids = tree_pids(server.pid)
                ticks = sum(cpu_ticks(pid) for pid in pids)
                webhook, events = [], []
                for _ in range(args.conversions):  # alternating, so that load drifts hit both alike
                    webhook.append(by_webhook(client, listener, file_id, hook_url))
                    events.append(by_events(client, file_id))
                cpu = (sum(cpu_ticks(pid) for pid in pids) - ticks) / os.sysconf("SC_CLK_TCK")
        finally:
            server.stop()
    listener.shutdown()
    rows = [[name, f"{1000 * percentile(values, 0.5):.1f}", f"{1000 * percentile(values, 0.99):.1f}",
             f"{1000 * statistics.mean(values):.1f}"]
            for name, values in (("webhook (job end -> listener)", webhook),
                                 ("baseline: event stream (job end -> client)", events))]
    print(text_table(["path", "p50 ms", "p99 ms", "mean ms"], rows))
    print(f"\nserver CPU: {1000 * cpu / (2 * args.conversions):.1f} ms per conversion (both kinds); "
          f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}; "
          f"{args.conversions} conversions of each kind, a {args.job_seconds:g} s job each")


if __name__ == "__main__":
    main()
