"""PostgreSQL and Redis for tests that run processes of their own: the machine's shared PostgreSQL server (where
such a test makes and drops a database of its own), and a private redis-server it can stop at will."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from server_process import free_port

SHARED_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


class PrivateRedis:
    """A redis-server of our own on a free loopback port, without persistence; stopped by its process id."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "PrivateRedis":
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port), "--bind",
             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                             text=True).stdout.strip() != "PONG":
            assert time.monotonic() < deadline and self.process.poll() is None, "redis-server did not start"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
