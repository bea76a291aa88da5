"""Resumable-upload benchmark: the same file through tus (in one PATCH, as `anclora convert --server` sends it,
or in 8 MiB PATCHes, as chunking clients do) against a plain streaming upload, on one running server.

    .venv/bin/python bench/resumable.py [--size-mib N] [--rounds N]

Starts `anclora serve` (SQLite), then in each round sends the file once per contender, the contenders taking
turns: `POST /api/files` (the raw body), tus `POST /api/uploads/` + one `PATCH`, and tus with 8 MiB `PATCH`es.
The client is the same for all three (http.client, 1 MiB writes). Each upload is checked by the sha256 of the
file it became. Prints the median MB/s of each and its ratio to the plain upload.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import VENV_BIN, Server, free_port, text_table  # noqa: E402

MiB = 1024 * 1024
PIECE = 8 * MiB
TUS = {"Tus-Resumable": "1.0.0"}


class Client:
    def __init__(self, url: str):
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
        self.session = ""

    def request(self, method: str, path: str, headers: dict[str, str], path_to_send: Path | None = None,
                start: int = 0, length: int = 0) -> tuple[int, dict[str, str], bytes]:
        headers = {**headers, "Content-Length": str(length), "X-Anclora-Session": self.session}
        self.connection.putrequest(method, path)
        for name, value in headers.items():
            self.connection.putheader(name, value)
        self.connection.endheaders()
        if path_to_send is not None:
            with open(path_to_send, "rb") as handle:
                handle.seek(start)
                left = length
                while left:
                    chunk = handle.read(min(MiB, left))
                    self.connection.send(chunk)
                    left -= len(chunk)
        response = self.connection.getresponse()
        body = response.read()
        self.session = response.headers.get("X-Anclora-Session", self.session)
        return response.status, {k.lower(): v for k, v in response.headers.items()}, body


def plain(client: Client, path: Path, size: int) -> str:
    status, _, body = client.request("POST", "/api/files?filename=bench.bin", {}, path, 0, size)
    assert status == 201, body
    return json.loads(body)["id"]


def tus(piece: int):
    def send(client: Client, path: Path, size: int) -> str:
        status, headers, body = client.request("POST", "/api/uploads/", {**TUS, "Upload-Length": str(size)})
        assert status == 201, body
        location, offset = headers["location"], 0
        while offset < size:
            length = min(piece, size - offset)
            status, headers, body = client.request("PATCH", location, {
                **TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)},
                path, offset, length)
            assert status == 204, body
            offset = int(headers["upload-offset"])
        return headers["anclora-file-id"]
    return send


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="anclora-bench-resumable-"))
    server = None
    try:
        payload = work / "payload.bin"
        with open(payload, "wb") as handle:
            for _ in range(args.size_mib):
                handle.write(os.urandom(MiB))
        size = payload.stat().st_size
        digest = hashlib.sha256(payload.read_bytes()).hexdigest()
        port = free_port()
        server = Server("anclora", [str(VENV_BIN / "anclora"), "serve", "--migrate", "--port", str(port)],
                        url=f"http://127.0.0.1:{port}", ready_path="/api/health", cwd=work, log=work / "anclora.log",
                        env={"DATABASE_URL": f"sqlite:///{work}/anclora.db", "UPLOAD_FOLDER": str(work / "uploads"),
                             "JWT_SECRET_KEY": "bench-" + "x" * 40, "LOG_LEVEL": "WARNING",
                             "ANCLORA_PLAN_LIMITS": '{"anonymous": {"max_upload_bytes": 1000000000, '
                                                    '"uploads_per_minute": 1000}}',
                             "ANCLORA_PLUGINS_ENTRYPOINTS": "false"}).start()
        client = Client(server.url)
        contenders = {"POST /api/files (plain)": plain, "tus, one PATCH": tus(size),
                      "tus, 8 MiB PATCHes": tus(PIECE)}
        seconds: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.rounds):
            for name, send in contenders.items():
                started = time.perf_counter()
                file_id = send(client, payload, size)
                seconds[name].append(time.perf_counter() - started)
                status, _, body = client.request("GET", f"/api/files/{file_id}", {})
                assert status == 200 and json.loads(body)["sha256"] == digest, body
                client.request("DELETE", f"/api/files/{file_id}", {})
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    reference = statistics.median(seconds["POST /api/files (plain)"])
    rows = [[name, f"{size / statistics.median(values) / 1e6:.0f}", f"{reference / statistics.median(values):.2f}"]
            for name, values in seconds.items()]
    print(f"\n{args.size_mib} MiB, {args.rounds} rounds (medians):\n"
          + text_table(["contender", "MB/s", "speed vs plain upload"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
