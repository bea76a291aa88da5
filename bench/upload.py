"""Upload benchmark: Anclora's streaming uploads against nginx (the machine's limit) and Flask on gunicorn.

    .venv/bin/python bench/upload.py [--quick] [--rounds N] [--markdown FILE] [--anclora-source DIR]

Starts every server it measures (Anclora, nginx with WebDAV PUT, the guide's gunicorn + Flask), then in each
round, contenders alternating run by run after a few idle seconds: one large upload per contender (throughput, the
server's CPU time and peak memory), N concurrent uploads (total time and memory), and wrk on the health endpoints.
Prints medians and the medians of per-round ratios; --markdown also writes them as Markdown tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import multiprocessing
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (REPO, VENV_BIN, ProcessSampler, Server, Transfer, curl, curl_argv, curl_many,  # noqa: E402
                     empty_folder, free_port, markdown_table, median, settle, text_table, wrk)

MiB = 1024 * 1024
MB = 1000 * 1000

NGINX_CONF = """\
user root;
worker_processes auto;
pid {work}/nginx/nginx.pid;
error_log {work}/nginx/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log {work}/nginx/access.log;
    client_body_temp_path {work}/nginx/body;
    proxy_temp_path {work}/nginx/proxy;
    fastcgi_temp_path {work}/nginx/fastcgi;
    uwsgi_temp_path {work}/nginx/uwsgi;
    scgi_temp_path {work}/nginx/scgi;
    client_max_body_size 600m;
    server {{
        listen 127.0.0.1:{port};
        location /store/ {{
            root {work}/nginx;
            dav_methods PUT;
            create_full_put_path on;
        }}
        location = /ready {{ return 200; }}
    }}
}}
"""

# The deployment guide's gunicorn.conf.py, with this run's port and log folder (no user switch, no pidfile).
GUNICORN_CONF = """\
import multiprocessing
bind = "127.0.0.1:{port}"
backlog = 2048
workers = multiprocessing.cpu_count() * 2 + 1
worker_class = "sync"
worker_connections = 1000
timeout = 30
keepalive = 2
max_requests = 1000
max_requests_jitter = 50
preload_app = True
accesslog = "{work}/gunicorn/access.log"
errorlog = "{work}/gunicorn/error.log"
loglevel = "info"
proc_name = "anclora_backend"
daemon = False
tmp_upload_dir = None
"""


@dataclasses.dataclass
class Payload:
    path: Path
    size: int
    sha256: str


def make_payload(path: Path, size: int) -> Payload:
    """Random bytes (nothing compresses or dedupes them), written once and hashed on the way."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for offset in range(0, size, MiB):
            block = os.urandom(min(MiB, size - offset))
            digest.update(block)
            out.write(block)
    return Payload(path, size, digest.hexdigest())


# --- the contenders ------------------------------------------------------------------------------------------

def start_anclora(work: Path, source: Path | None = None) -> Server:
    """Anclora as `anclora serve` runs it; `source` is a folder holding a modified copy of the package to try."""
    port = free_port()
    # Anonymous callers may upload what the largest plan may, as often as the benchmark asks.
    limits = {"anonymous": {"max_upload_bytes": 500 * MiB, "uploads_per_minute": 10 ** 6}}
    env = {"UPLOAD_FOLDER": str(work / "anclora"), "DATABASE_URL": f"sqlite:///{work}/anclora.db",
           "ANCLORA_PORT": str(port), "JWT_SECRET_KEY": secrets.token_hex(32),
           "ANCLORA_PLAN_LIMITS": json.dumps(limits), **({"PYTHONPATH": str(source)} if source else {})}
    return Server("anclora", [str(VENV_BIN / "anclora"), "serve", "--migrate"], url=f"http://127.0.0.1:{port}",
                  ready_path="/api/health", env=env, cwd=work, log=work / "anclora.log")


def start_nginx(work: Path) -> Server:
    port = free_port()
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "store"):
        (work / "nginx" / folder).mkdir(parents=True, exist_ok=True)
    conf = work / "nginx" / "nginx.conf"
    conf.write_text(NGINX_CONF.format(work=work, port=port))
    return Server("nginx", ["nginx", "-c", str(conf), "-p", str(work / "nginx"), "-g", "daemon off;"],
                  url=f"http://127.0.0.1:{port}", ready_path="/ready", cwd=work, log=work / "nginx" / "stderr.log")


def start_gunicorn(work: Path) -> Server:
    port = free_port()
    (work / "gunicorn" / "tmp").mkdir(parents=True, exist_ok=True)
    conf = work / "gunicorn" / "gunicorn.conf.py"
    conf.write_text(GUNICORN_CONF.format(work=work, port=port))
    env = {"UPLOAD_FOLDER": str(work / "gunicorn" / "files"), "DATABASE_PATH": str(work / "gunicorn.db"),
           "TMPDIR": str(work / "gunicorn" / "tmp")}  # werkzeug spools multipart files here: the same disk
    argv = [str(VENV_BIN / "gunicorn"), "--config", str(conf), "--chdir", str(REPO / "bench"),
            "flask_app:create_app()"]
    return Server("gunicorn", argv, url=f"http://127.0.0.1:{port}", ready_path="/api/health", env=env, cwd=work,
                  log=work / "gunicorn" / "stderr.log")


@dataclasses.dataclass
class Case:
    """One way of uploading to one server: how curl sends it, where it lands, how to tell it arrived whole."""
    name: str
    server: Server
    argv: Callable[[Payload], list[str]]
    storage: Path
    check: Callable[[Transfer, Payload], None]


def check_json(*, hashed: bool) -> Callable[[Transfer, Payload], None]:
    def check(transfer: Transfer, payload: Payload) -> None:
        if transfer.status != 201:
            raise RuntimeError(f"expected 201, got {transfer.status}: {transfer.body[:300]}")
        answer = json.loads(transfer.body)
        if answer["size"] != payload.size or (hashed and answer["sha256"] != payload.sha256):
            raise RuntimeError(f"the upload arrived damaged: {answer}")
    return check


def check_nginx(storage: Path) -> Callable[[Transfer, Payload], None]:
    def check(transfer: Transfer, payload: Payload) -> None:
        stored = [path.stat().st_size for path in storage.iterdir()]
        if transfer.status not in (201, 204) or stored != [payload.size]:
            raise RuntimeError(f"nginx answered {transfer.status} and stored {stored}")
    return check


def make_cases(work: Path, anclora: Server, nginx: Server, gunicorn: Server) -> dict[str, Case]:
    a, n, g = anclora.url, nginx.url, gunicorn.url
    counter = iter(range(10 ** 9))
    return {case.name: case for case in [
        Case("anclora raw", anclora, lambda p: curl_argv(f"{a}/api/files?filename=bench.bin", p.path,
                                                         method="POST"),
             work / "anclora" / "objects", check_json(hashed=True)),
        Case("anclora multipart", anclora, lambda p: curl_argv(f"{a}/api/files", p.path, method="POST",
                                                               multipart=True),
             work / "anclora" / "objects", check_json(hashed=True)),
        Case("nginx PUT", nginx, lambda p: curl_argv(f"{n}/store/{next(counter)}.bin", p.path, method="PUT"),
             work / "nginx" / "store", check_nginx(work / "nginx" / "store")),
        Case("gunicorn raw", gunicorn, lambda p: curl_argv(f"{g}/api/files", p.path, method="POST"),
             work / "gunicorn" / "files", check_json(hashed=True)),
        Case("gunicorn multipart", gunicorn, lambda p: curl_argv(f"{g}/api/files", p.path, method="POST",
                                                                 multipart=True),
             work / "gunicorn" / "files", check_json(hashed=False)),
    ]}


# --- one run of each kind ------------------------------------------------------------------------------------

def run_single(case: Case, payload: Payload, idle: float) -> dict:
    settle(idle)
    with ProcessSampler(case.server.pid) as sampler:
        transfer = curl(case.argv(payload))
    case.check(transfer, payload)
    empty_folder(case.storage)
    return {"mbps": payload.size / MB / transfer.seconds, "cpu": sampler.usage.cpu_seconds / (payload.size / 1e9),
            **dataclasses.asdict(sampler.usage)}


def run_concurrent(case: Case, payload: Payload, count: int, idle: float) -> dict:
    settle(idle)
    with ProcessSampler(case.server.pid) as sampler:
        seconds, transfers = curl_many([case.argv(payload) for _ in range(count)])
    for transfer in transfers:
        case.check(transfer, payload)
    empty_folder(case.storage)
    return {"seconds": seconds, "cpu": sampler.usage.cpu_seconds, **dataclasses.asdict(sampler.usage)}


def run_wrk(server: Server, args: argparse.Namespace) -> dict:
    settle(1.0)
    with ProcessSampler(server.pid) as sampler:
        rps, p99 = wrk(server.url + "/api/health", seconds=args.wrk_seconds, connections=args.wrk_connections)
    return {"rps": rps, "p99_ms": p99, "cpu_ms": 1000 * sampler.usage.cpu_seconds / (rps * args.wrk_seconds)}


# --- the whole benchmark -------------------------------------------------------------------------------------

SINGLE = ["anclora raw", "anclora multipart", "nginx PUT", "gunicorn raw", "gunicorn multipart"]
CONCURRENT = ["anclora raw", "gunicorn raw"]


def run_rounds(args: argparse.Namespace, cases: dict[str, Case], big: Payload, small: Payload) -> dict:
    results: dict[str, list[dict]] = {"load": []}
    for number in range(1, args.rounds + 1):
        print(f"round {number}/{args.rounds}", file=sys.stderr)
        results["load"].append({"load": os.getloadavg()[0]})
        for name in SINGLE:
            results.setdefault(f"single/{name}", []).append(run_single(cases[name], big, args.idle))
        for name in CONCURRENT:
            results.setdefault(f"concurrent/{name}", []).append(
                run_concurrent(cases[name], small, args.concurrency, args.idle))
        for name in ("anclora", "gunicorn"):
            server = cases[f"{name} raw"].server
            results.setdefault(f"wrk/{name}", []).append(run_wrk(server, args))
    return results


def cell(results: dict, key: str, field: str, digits: int = 0) -> str:
    """The median of one measurement over the rounds, formatted."""
    return f"{median([run[field] for run in results[key]]):.{digits}f}"


def ratio(results: dict, top: str, bottom: str, field: str) -> str:
    """The median of per-round ratios top/bottom: the two ran within a minute of each other."""
    return f"{median([a[field] / b[field] for a, b in zip(results[top], results[bottom])]):.2f}"


def tables(results: dict, args: argparse.Namespace) -> list[tuple[str, list[str], list[list[str]]]]:
    big, small, n = f"{args.size_mib} MiB", f"{args.small_mib} MiB", args.concurrency
    memory = ("process_rss", "total_rss", "total_pss", "idle_pss")
    single = [[name, cell(results, f"single/{name}", "mbps"), cell(results, f"single/{name}", "cpu", 2),
               *(cell(results, f"single/{name}", field, 1) for field in memory)] for name in SINGLE]
    concurrent = [[name, *(cell(results, f"concurrent/{name}", field, 2) for field in ("seconds", "cpu")),
                   *(cell(results, f"concurrent/{name}", field, 1) for field in memory)] for name in CONCURRENT]
    health = [[name, cell(results, f"wrk/{name}", "rps"), cell(results, f"wrk/{name}", "p99_ms", 1),
               cell(results, f"wrk/{name}", "cpu_ms", 2)] for name in ("anclora", "gunicorn")]
    ratios = [
        ["anclora raw / nginx PUT, MB/s", ratio(results, "single/anclora raw", "single/nginx PUT", "mbps"), "≥ 0.55"],
        ["anclora multipart / nginx PUT, MB/s",
         ratio(results, "single/anclora multipart", "single/nginx PUT", "mbps"), "≥ 0.55"],
        ["anclora raw / gunicorn raw, MB/s", ratio(results, "single/anclora raw", "single/gunicorn raw", "mbps"),
         "≥ 2.5"],
        ["anclora multipart / gunicorn multipart, MB/s",
         ratio(results, "single/anclora multipart", "single/gunicorn multipart", "mbps"), "≥ 4"],
        [f"gunicorn / anclora total time, {n} × {small}",
         ratio(results, "concurrent/gunicorn raw", "concurrent/anclora raw", "seconds"), ""],
        ["anclora / gunicorn health requests/s", ratio(results, "wrk/anclora", "wrk/gunicorn", "rps"), "≥ 1"],
    ]
    memory_headers = ["peak RSS, largest process", "peak RSS, sum", "peak PSS, sum", "idle PSS, sum"]
    return [
        (f"One {big} upload (medians of {args.rounds} rounds; MB = 10^6 bytes; memory in MiB)",
         ["contender", "MB/s", "server CPU s/GB", *memory_headers], single),
        (f"{n} concurrent {small} raw uploads", ["contender", "total s", "server CPU s", *memory_headers],
         concurrent),
        (f"wrk -t1 -c{args.wrk_connections} -d{args.wrk_seconds}s on the health endpoint",
         ["contender", "requests/s", "p99 ms", "server CPU ms/request"], health),
        ("Medians of per-round ratios", ["ratio", "value", "target"], ratios),
    ]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2 ** 30
    packages = ", ".join(f"{name} {version(name)}" for name in ("tornado", "flask", "gunicorn"))
    return (f"{multiprocessing.cpu_count()} × {cpu}, {memory} GiB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}, {packages}, nginx {nginx}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round, 100 MiB and 5 MiB files, 3 s of wrk")
    parser.add_argument("--rounds", type=int, help="rounds (default 5, 1 with --quick)")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of quiet before each run")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent uploads")
    parser.add_argument("--wrk-connections", type=int, default=10)
    parser.add_argument("--workdir", type=Path, help="where servers store files (default: a new folder in /var/tmp)")
    parser.add_argument("--anclora-source", type=Path,
                        help="a folder holding modified copies of anclora/ and plugins/, to measure a change")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file as Markdown")
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 5)
    args.size_mib, args.small_mib = (100, 5) if args.quick else (500, 25)
    args.wrk_seconds = 3 if args.quick else 10
    return args


def main() -> int:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="anclora-bench-", dir=args.workdir or "/var/tmp"))
    servers: list[Server] = []
    try:
        big = make_payload(work / "big.bin", args.size_mib * MiB)
        small = make_payload(work / "small.bin", args.small_mib * MiB)
        for server in (start_anclora(work, args.anclora_source), start_nginx(work), start_gunicorn(work)):
            servers.append(server)
            server.start()
        results = run_rounds(args, make_cases(work, *servers), big, small)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    loads = [run["load"] for run in results["load"]]
    print(f"\n{machine()}; every server wrote under {work.parent}; 1-minute load average at the start of each "
          f"round: {', '.join(f'{load:.1f}' for load in loads)}")
    for title, headers, rows in tables(results, args):
        print(f"\n{title}\n{text_table(headers, rows)}")
    if args.markdown:
        args.markdown.write_text("\n\n".join(f"{title}\n\n{markdown_table(headers, rows)}"
                                             for title, headers, rows in tables(results, args)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
