"""Tiny releases for the deployment tests: an archive whose `venv/bin/anclora` serves /api/health and migrates."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

SCRIPT = '''#!/usr/bin/python3
"""A stand-in Anclora release: `serve`, `db current|upgrade`, `cleanup`, `verify`."""
import http.server, json, os, sys
from pathlib import Path

VERSION, HEALTHY = {version!r}, {healthy!r}
SCHEMA = Path(__file__).resolve().parents[3] / "schema-version"


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = HEALTHY and self.path == "/api/health"
        body = json.dumps({{"status": "up" if ok else "down", "version": VERSION, "pid": os.getpid()}}).encode()
        self.send_response(200 if ok else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main(args):
    if args[:1] == ["serve"]:
        port = int(args[args.index("--port") + 1])
        http.server.ThreadingHTTPServer(("127.0.0.1", port), Health).serve_forever()
    elif args == ["db", "current"]:
        current = SCHEMA.read_text() if SCHEMA.exists() else "(empty)"
        print(current + (" (head)" if current == VERSION else ""))
    elif args == ["db", "upgrade"]:
        SCHEMA.write_text(VERSION)
        print("database at " + VERSION)
    else:
        print(json.dumps({{"args": args}}))


main(sys.argv[1:])
'''


def make_release(artifacts: Path, version: str, healthy: bool = True) -> Path:
    """artifacts/anclora-VERSION.tar.gz holding venv/bin/anclora."""
    artifacts.mkdir(parents=True, exist_ok=True)
    archive = artifacts / f"anclora-{version}.tar.gz"
    data = SCRIPT.format(version=version, healthy=healthy).encode()
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("venv/bin/anclora")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        readme = b"A test release of " + version.encode() + b"\n"
        info = tarfile.TarInfo("README")
        info.size, info.mode = len(readme), 0o644
        tar.addfile(info, io.BytesIO(readme))
    return archive
