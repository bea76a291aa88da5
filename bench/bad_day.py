"""Bad-day benchmark: GET /api/health latency alone and with 100 slow uploads in flight, and the server's memory
peak during 50 concurrent 20 MiB uploads.

    .venv/bin/python bench/bad_day.py [--rounds N] [--requests N]

Starts `anclora serve --migrate` on a temporary SQLite database and folder. Each round, alternating: N health
requests one after another on one keep-alive connection with nothing else going on (the baseline), then the same
while 100 uploads trickle in (each sends 1 KiB every 0.5 s from its own connection, declared at 1 MiB). Then 50
concurrent 20 MiB uploads against one alone (the baseline), each sent by curl from a file, with the server's RSS
sampled every 20 ms (`_common.ProcessSampler`). Prints medians over rounds of p50/p99 ms, the server's CPU ms per
health request, peak RSS over idle, the server's CPU s per GiB uploaded, and the load average.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (VENV_BIN, ProcessSampler, Server, cpu_ticks, curl_many, free_port, median,  # noqa: E402
                     settle, text_table)

MiB = 1024 * 1024
SLOW = 100
CONCURRENT = 50


def health_latencies(port: int, count: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    took = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", "/api/health")
        response = connection.getresponse()
        response.read()
        took.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, response.status
    connection.close()
    return took


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class SlowUploads:
    """SLOW connections, each sending 1 KiB of a 1 MiB upload every half second until stopped."""

    def __init__(self, port: int):
        self.port, self.stop = port, threading.Event()
        self.sockets: list[socket.socket] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "SlowUploads":
        head = (f"POST /api/files?filename=slow.bin HTTP/1.1\r\nHost: bench\r\nContent-Length: {MiB}\r\n"
                "X-Anclora-Session: " + "s" * 43 + "\r\n\r\n").encode()
        for _ in range(SLOW):
            sock = socket.create_connection(("127.0.0.1", self.port))
            sock.sendall(head)
            self.sockets.append(sock)
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            for sock in self.sockets:
                sock.sendall(b"x" * 1024)

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


def health_round(server: Server, requests: int, loaded: bool) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, server CPU ms per request)."""
    ticks = cpu_ticks(server.pid)
    if loaded:
        with SlowUploads(int(server.url.rsplit(":", 1)[1])):
            time.sleep(1)  # every upload has started
            ticks = cpu_ticks(server.pid)
            took = health_latencies(int(server.url.rsplit(":", 1)[1]), requests)
            used = cpu_ticks(server.pid) - ticks
    else:
        took = health_latencies(int(server.url.rsplit(":", 1)[1]), requests)
        used = cpu_ticks(server.pid) - ticks
    return percentile(took, 0.5), percentile(took, 0.99), 1000 * used / os.sysconf("SC_CLK_TCK") / requests


def upload_round(server: Server, sample: Path, count: int) -> tuple[float, float, float]:
    """(peak PSS MiB over idle, peak RSS MiB of the largest process, server CPU s per GiB) for `count`
    concurrent uploads of `sample`."""
    argvs = [["curl", "-s", "-o", "/dev/null", "-w", "\n%{http_code} %{time_total}", "-H",
              f"X-Anclora-Session: {'u' * 42}{n % 10}", "--data-binary", f"@{sample}",
              f"{server.url}/api/files?filename=u{n}.bin"] for n in range(count)]
    with ProcessSampler(server.pid) as sampler:
        _, transfers = curl_many(argvs)
    assert all(t.status == 201 for t in transfers), [t.status for t in transfers]
    usage = sampler.usage
    gib = count * sample.stat().st_size / (1024 * MiB)
    return usage.total_pss - usage.idle_pss, usage.process_rss, usage.cpu_seconds / gib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="anclora-bench-bad-day-"))
    sample = work / "sample.bin"
    sample.write_bytes(os.urandom(20 * MiB))
    port = free_port()
    server = Server("anclora", [str(VENV_BIN / "anclora"), "serve", "--migrate"], url=f"http://127.0.0.1:{port}",
                    ready_path="/api/health", cwd=work, log=work / "server.log", env={
                        "DATABASE_URL": f"sqlite:///{work}/anclora.db", "UPLOAD_FOLDER": str(work / "uploads"),
                        "ANCLORA_PORT": str(port), "LOG_LEVEL": "WARNING",
                        "ANCLORA_PLAN_LIMITS": '{"anonymous": {"uploads_per_minute": 1000}}'}).start()
    health = {"alone": [], f"{SLOW} slow uploads": []}
    uploads = {"1 upload": [], f"{CONCURRENT} uploads": []}
    try:
        for _ in range(args.rounds):
            for name in health:
                health[name].append(health_round(server, args.requests, loaded=name != "alone"))
            for name, count in (("1 upload", 1), (f"{CONCURRENT} uploads", CONCURRENT)):
                settle(2)
                uploads[name].append(upload_round(server, sample, count))
    finally:
        server.stop()
    print(text_table(["GET /api/health", "p50 ms", "p99 ms", "server CPU ms/request"], [
        [name, *(f"{median([r[i] for r in rows]):.2f}" for i in range(3))] for name, rows in health.items()]))
    print()
    print(text_table(["20 MiB uploads at once", "peak PSS over idle MiB", "peak RSS MiB", "server CPU s/GiB"], [
        [name, *(f"{median([r[i] for r in rows]):.1f}" for i in range(3))] for name, rows in uploads.items()]))
    print(f"\nrounds: {args.rounds}; load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} cores")


if __name__ == "__main__":
    main()
