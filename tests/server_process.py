"""Running `anclora serve` as a real process for tests that need signals, memory readings or a clean start."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from anclora.testing import TEST_JWT_SECRET


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not ended within 30 s; waited for either way."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ServerProcess:
    def __init__(self, tmp_path: Path, database_url: str, *serve_args: str, **settings: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "server.log"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": database_url,
               "UPLOAD_FOLDER": str(tmp_path / "uploads"), "ANCLORA_PORT": str(self.port),
               "ANCLORA_PLUGINS_ENTRYPOINTS": "false", "LOG_FILE": str(self.log),
               "JWT_SECRET_KEY": TEST_JWT_SECRET}
        env.update({key: str(value) for key, value in settings.items()})
        self.process = subprocess.Popen([sys.executable, "-m", "anclora", "serve", "--migrate", *serve_args], env=env,
                                        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()}")
            if self.log.exists() and "listening on" in self.log.read_text():
                return
            time.sleep(0.05)
        raise TimeoutError("server did not start")

    def peak_rss_bytes(self) -> int:
        """The most memory the server has held, since it started or since `reset_peak_rss`."""
        return self._status_kb("VmHWM") * 1024

    def reset_peak_rss(self) -> int:
        """Start counting the peak again from now (Linux's clear_refs); the memory held now."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
        return self._status_kb("VmRSS") * 1024

    def _status_kb(self, field: str) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1))

    def mapped_files(self) -> set[str]:
        """The files (shared libraries and extension modules among them) mapped into the server process."""
        lines = Path(f"/proc/{self.process.pid}/maps").read_text().splitlines()
        return {line.split(None, 5)[5] for line in lines if len(line.split(None, 5)) == 6}

    def stop(self) -> None:
        stop_process(self.process)
        self.process.stderr.close()
