"""Scan benchmark: what scanning uploads with clamd costs a 100 MiB raw upload.

    .venv/bin/python bench/scan.py [--rounds N] [--size-mib N]

Two `anclora serve` processes on SQLite, one with `clamd_socket` set and one without, and a clamd of the
benchmark's own (Debian's /usr/sbin/clamd in the foreground, a one-signature database, StreamMaxLength raised to
the upload size). Each round, alternating which goes first, curl sends the same random file to both; each upload is
checked (201, its size) and deleted. Prints medians of the seconds per upload, MB/s, and the CPU seconds per GB of
the server and of clamd, with the load average; and, as clamd's own share, the same file sent straight to clamd
by a blocking client in the benchmark. With ClamAV's full databases clamd's own share grows; the
server's share (reading the file back through storage, the socket) does not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (VENV_BIN, ProcessSampler, Server, cpu_ticks, curl, curl_argv, free_port, median,  # noqa: E402
                     settle, text_table)

MiB = 1024 * 1024
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def start_clamd(work: Path, limit: int) -> subprocess.Popen:
    """clamd on `work/clamd.sock`, answering once its one signature is loaded."""
    database = work / "clamdb"
    database.mkdir()
    (database / "bench.hdb").write_text(f"{hashlib.md5(EICAR, usedforsecurity=False).hexdigest()}:68:Bench.EICAR\n")
    config = work / "clamd.conf"
    config.write_text("\n".join([
        "Foreground yes", f"LocalSocket {work / 'clamd.sock'}", f"DatabaseDirectory {database}",
        f"TemporaryDirectory {work}", f"StreamMaxLength {limit}", f"MaxFileSize {limit}", f"MaxScanSize {limit}",
        "AlertExceedsMax yes"]) + "\n")
    process = subprocess.Popen(["/usr/sbin/clamd", "-c", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (work / "clamd.sock").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("clamd did not start")
        time.sleep(0.05)
    return process


def start_anclora(work: Path, name: str, clamd_socket: str) -> Server:
    port = free_port()
    limits = {"anonymous": {"max_upload_bytes": 500 * MiB, "uploads_per_minute": 10 ** 6}}
    folder = work / name
    folder.mkdir()
    env = {"UPLOAD_FOLDER": str(folder / "uploads"), "DATABASE_URL": f"sqlite:///{folder}/anclora.db",
           "ANCLORA_PORT": str(port), "JWT_SECRET_KEY": secrets.token_hex(32),
           "ANCLORA_PLAN_LIMITS": json.dumps(limits), "ANCLORA_CLAMD_SOCKET": clamd_socket}
    return Server(name, [str(VENV_BIN / "anclora"), "serve", "--migrate"], url=f"http://127.0.0.1:{port}",
                  ready_path="/api/health", env=env, cwd=folder, log=folder / "anclora.log").start()


def session_of(server: Server) -> str:
    """An anonymous session's token, so that the benchmark may delete what it uploaded."""
    with urllib.request.urlopen(f"{server.url}/api/me") as answer:
        return answer.headers["X-Anclora-Session"]


def upload(server: Server, payload: Path, size: int, clamd_pid: int, session: str) -> dict:
    argv = curl_argv(f"{server.url}/api/files?filename=payload.bin", payload, method="POST")
    argv[-1:-1] = ["-H", f"X-Anclora-Session: {session}"]
    clamd_before = cpu_ticks(clamd_pid)
    with ProcessSampler(server.pid) as sampler:
        transfer = curl(argv)
    clamd_cpu = (cpu_ticks(clamd_pid) - clamd_before) / os.sysconf("SC_CLK_TCK")
    if transfer.status != 201 or json.loads(transfer.body)["size"] != size:
        raise RuntimeError(f"{server.name}: {transfer.status} {transfer.body[:300]}")
    delete = urllib.request.Request(f"{server.url}/api/files/{json.loads(transfer.body)['id']}", method="DELETE",
                                    headers={"X-Anclora-Session": session})
    urllib.request.urlopen(delete).close()
    gigabytes = size / 1e9
    return {"seconds": transfer.seconds, "mbps": size / 1e6 / transfer.seconds,
            "server_cpu": sampler.usage.cpu_seconds / gigabytes, "clamd_cpu": clamd_cpu / gigabytes}


def clamd_alone(socket_path: Path, payload: Path, size: int, clamd_pid: int) -> dict:
    """The same file sent straight to clamd by a blocking client here: clamd's own share of the scan."""
    clamd_before = cpu_ticks(clamd_pid)
    started = time.monotonic()
    with socket.socket(socket.AF_UNIX) as connection, open(payload, "rb") as source:
        connection.connect(str(socket_path))
        connection.sendall(b"zINSTREAM\0")
        while chunk := source.read(256 * 1024):
            connection.sendall(struct.pack(">I", len(chunk)) + chunk)
        connection.sendall(struct.pack(">I", 0))
        reply = connection.recv(256)
    seconds = time.monotonic() - started
    if reply != b"stream: OK\0":
        raise RuntimeError(f"clamd answered {reply!r}")
    clamd_cpu = (cpu_ticks(clamd_pid) - clamd_before) / os.sysconf("SC_CLK_TCK")
    return {"seconds": seconds, "mbps": size / 1e6 / seconds, "server_cpu": 0.0, "clamd_cpu": clamd_cpu / (size / 1e9)}


def check_refusal(server: Server, work: Path) -> None:
    """The scanning server does scan: the EICAR test file is refused."""
    sample = work / "eicar.com"
    sample.write_bytes(EICAR)
    transfer = curl(curl_argv(f"{server.url}/api/files?filename=eicar.com", sample, method="POST"))
    if transfer.status != 422 or json.loads(transfer.body)["error"]["code"] != "infected":
        raise RuntimeError(f"EICAR was not refused: {transfer.status} {transfer.body[:300]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size-mib", type=int, default=100)
    args = parser.parse_args()
    size = args.size_mib * MiB
    with tempfile.TemporaryDirectory(prefix="anclora-bench-scan-") as folder:
        work = Path(folder)
        payload = work / "payload.bin"
        with open(payload, "wb") as out:
            for _ in range(args.size_mib):
                out.write(os.urandom(MiB))
        clamd = start_clamd(work, size + MiB)
        servers = []
        try:
            plain = start_anclora(work, "unscanned", "")
            servers.append(plain)
            scanned = start_anclora(work, "scanned", str(work / "clamd.sock"))
            servers.append(scanned)
            check_refusal(scanned, work)
            sessions = {server.name: session_of(server) for server in servers}
            results: dict[str, list[dict]] = {"unscanned": [], "scanned": [], "clamd alone": []}
            loads = [os.getloadavg()[0]]
            for number in range(args.rounds):
                order = [plain, scanned] if number % 2 == 0 else [scanned, plain]
                for server in order:
                    settle(0.5)
                    results[server.name].append(upload(server, payload, size, clamd.pid,
                                                               sessions[server.name]))
                settle(0.5)
                results["clamd alone"].append(clamd_alone(work / "clamd.sock", payload, size, clamd.pid))
                loads.append(os.getloadavg()[0])
        finally:
            for server in servers:
                server.stop()
            clamd.terminate()
            clamd.wait(15)
    report(results, args, size, loads)
    return 0


def report(results: dict[str, list[dict]], args: argparse.Namespace, size: int, loads: list[float]) -> None:
    def med(name: str, field: str) -> float:
        return median([run[field] for run in results[name]])
    rows = [[name, f"{med(name, 'seconds'):.2f}", f"{med(name, 'mbps'):.0f}", f"{med(name, 'server_cpu'):.2f}",
             f"{med(name, 'clamd_cpu'):.2f}"] for name in results]
    print(f"raw upload of {size // MiB} MiB, medians of {args.rounds} alternating rounds; "
          f"1-minute load average {min(loads):.1f}-{max(loads):.1f}")
    print(text_table(["server", "s/upload", "MB/s", "server CPU s/GB", "clamd CPU s/GB"], rows))
    extra = med("scanned", "seconds") - med("unscanned", "seconds")
    print(f"scan overhead: +{extra:.2f} s per upload ({med('scanned', 'seconds') / med('unscanned', 'seconds'):.2f}x"
          f" the time), server CPU {med('scanned', 'server_cpu') / med('unscanned', 'server_cpu'):.2f}x")


if __name__ == "__main__":
    sys.exit(main())
