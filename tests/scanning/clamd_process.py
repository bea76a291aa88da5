"""A real clamd (Debian's clamav-daemon) of the tests' own: its config, socket and one-signature database in a
temporary folder, in the foreground; Debian's service and freshclam are never used."""

from __future__ import annotations

import hashlib
import signal
import socket
import subprocess
import time
from pathlib import Path

CLAMD = "/usr/sbin/clamd"
# The EICAR test file: harmless, and detected by every scanner that is working (built here, not stored as a file).
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Anclora-Test.EICAR"  # clamd names it `Anclora-Test.EICAR.UNOFFICIAL` (an unsigned database)
START_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ClamdProcess:
    def __init__(self, folder: Path, *, stream_max: int = 8 * 1024 * 1024, max_file: int = 0, tcp: bool = False):
        """`stream_max`: StreamMaxLength in bytes; `max_file`: MaxFileSize and MaxScanSize (else the same)."""
        self.folder = folder
        self.socket = folder / "clamd.sock"
        self.port = free_port() if tcp else None
        self.process: subprocess.Popen | None = None
        database = folder / "db"
        database.mkdir(parents=True)
        digest = hashlib.md5(EICAR, usedforsecurity=False).hexdigest()
        (database / "test.hdb").write_text(f"{digest}:{len(EICAR)}:{SIGNATURE}\n")
        (folder / "tmp").mkdir()
        lines = ["Foreground yes", f"LocalSocket {self.socket}", f"DatabaseDirectory {database}",
                 f"TemporaryDirectory {folder / 'tmp'}", f"LogFile {folder / 'clamd.log'}",
                 f"StreamMaxLength {stream_max}", "AlertExceedsMax yes",
                 f"MaxFileSize {max_file or stream_max}", f"MaxScanSize {max_file or stream_max}"]
        if self.port:
            lines += [f"TCPSocket {self.port}", "TCPAddr 127.0.0.1"]
        self.config = folder / "clamd.conf"
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> "ClamdProcess":
        """Start clamd and wait until it answers PING (loading even one signature takes a moment)."""
        self.process = subprocess.Popen([CLAMD, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_SECONDS
        while not self.answers_ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = (self.folder / "clamd.log").read_text() if (self.folder / "clamd.log").exists() else ""
                raise RuntimeError(f"clamd did not start: {log[-2000:]}")
            time.sleep(0.05)
        return self

    def answers_ping(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as connection:
                connection.settimeout(1)
                connection.connect(str(self.socket))
                connection.sendall(b"zPING\0")
                return connection.recv(16) == b"PONG\0"
        except OSError:
            return False

    def kill(self) -> None:
        """Stop clamd at once, as a crash would: its socket file stays, and connecting to it is refused."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def pause(self) -> None:
        """Freeze clamd: connections are accepted by the kernel, and nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
