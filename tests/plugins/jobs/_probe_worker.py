"""A worker script for the warm-worker tests: reports what its process sees, or hangs with a child of its own.

Options: {"mode": "report", "port": N} writes JSON about the process to DST (whether 127.0.0.1:N answered, and the
pid of the process its `warm()` ran in); {"mode": "hang", "pidfile": PATH} starts `sleep 1000`, writes "<own pid>
<sleep's pid> <parent pid>" to PATH and waits forever.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from anclora.engines.worker import progress, serve

WARMED_IN: int | None = None  # the process `warm` ran in


def warm() -> None:
    global WARMED_IN
    WARMED_IN = os.getpid()


def convert(src: Path, dst: Path, source: str, target: str, options: dict[str, Any]) -> None:
    progress(10)
    if options.get("mode") == "hang":
        sleeper = subprocess.Popen(["sleep", "1000"])
        Path(options["pidfile"]).write_text(f"{os.getpid()} {sleeper.pid} {os.getppid()}")
        while True:
            time.sleep(1)
    try:
        with socket.create_connection(("127.0.0.1", int(options.get("port", 9))), timeout=2):
            network = "connected"
    except OSError as error:
        network = type(error).__name__
    dst.write_text(json.dumps({
        "pid": os.getpid(), "ppid": os.getppid(), "pgid": os.getpgid(0), "cwd": os.getcwd(),
        "env": dict(os.environ), "network": network, "input": src.read_text(), "warmed_in": WARMED_IN,
    }))


if __name__ == "__main__":
    serve(convert)
