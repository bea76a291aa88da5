"""Shared benchmark helpers: servers we start and stop, their memory sampled from /proc, curl and wrk runs, tables."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
SAMPLE_INTERVAL = 0.02  # seconds between memory samples


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0) -> None:
    """Poll `url` until it answers at all (any status), or raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout}s") from None
            time.sleep(0.1)


class Server:
    """A server process we start in its own session and stop by its id."""

    def __init__(self, name: str, argv: list[str], *, url: str, ready_path: str, cwd: Path, log: Path,
                 env: dict[str, str] | None = None):
        self.name, self.argv, self.url, self.cwd, self.log = name, argv, url, cwd, log
        self.ready_url = url + ready_path
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self) -> "Server":
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_http(self.ready_url)
        except RuntimeError:
            self.stop()
            tail = self.log.read_text(errors="replace").splitlines()[-5:]
            raise RuntimeError(f"{self.name} did not start:\n" + "\n".join(tail)) from None
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # the group is the session we created for it
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def tree_pids(pid: int) -> list[int]:
    """`pid` and all its descendants, from /proc/<pid>/task/*/children."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    pending.extend(int(child) for child in handle.read().split())
        except OSError:
            continue  # the process ended between two reads
    return found


def status_kib(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM); 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_pss_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB from /proc/<pid>/smaps_rollup; PSS shares each page among the processes mapping it, so
    forked workers are not counted many times over for the pages they share."""
    values = {"Rss:": 0, "Pss:": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                name, _, rest = line.partition(" ")
                if name in values:
                    values[name] = int(rest.split()[0])
    except OSError:
        pass
    return values["Rss:"], values["Pss:"]


def reset_peak(pids: list[int]) -> None:
    """Reset VmHWM to the current RSS (writing 5 to clear_refs), so the next peak is this run's own."""
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as handle:
                handle.write("5")
        except OSError:
            pass


def cpu_ticks(pid: int) -> int:
    """utime + stime of all the process's threads, in clock ticks; 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()
        return int(fields[11]) + int(fields[12])
    except OSError:
        return 0


@dataclasses.dataclass
class Usage:
    """What a server's processes used during one run; memory in MiB."""
    process_rss: float  # the largest RSS of any one process (VmHWM included: spikes between samples count)
    total_rss: float  # the largest sum of RSS over the processes at one sample
    total_pss: float  # the largest sum of PSS at one sample: the memory the server really occupies
    idle_pss: float  # the sum of PSS just before the run
    cpu_seconds: float  # CPU time of the processes: a busy machine stretches the clock, much less this


class ProcessSampler:
    """Samples a process tree's memory every 20 ms on a thread while the `with` block runs, and its CPU time."""

    def __init__(self, pid: int):
        self.pid = pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._seen: set[int] = set()
        self._process = self._rss = self._pss = 0

    def __enter__(self) -> "ProcessSampler":
        pids = tree_pids(self.pid)
        reset_peak(pids)
        self._idle = sum(rss_pss_kib(pid)[1] for pid in pids)
        self._ticks = {pid: cpu_ticks(pid) for pid in pids}
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(SAMPLE_INTERVAL):
                return

    def _sample(self) -> None:
        pids = tree_pids(self.pid)
        self._seen.update(pids)
        sizes = [rss_pss_kib(pid) for pid in pids]
        self._process = max(self._process, *(rss for rss, _ in sizes))
        self._rss = max(self._rss, sum(rss for rss, _ in sizes))
        self._pss = max(self._pss, sum(pss for _, pss in sizes))

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        ticks = sum(cpu_ticks(pid) - self._ticks.get(pid, 0) for pid in self._seen if cpu_ticks(pid))
        self._process = max(self._process, *(status_kib(pid, "VmHWM") for pid in self._seen))
        if len(self._seen) == 1:
            self._rss = max(self._rss, self._process)
        self.usage = Usage(self._process / 1024, self._rss / 1024, self._pss / 1024, self._idle / 1024,
                           ticks / os.sysconf("SC_CLK_TCK"))


def settle(seconds: float) -> None:
    """Flush dirty pages and let the machine go quiet: freshly freed memory is slow to touch again here."""
    os.sync()
    time.sleep(seconds)


def empty_folder(path: Path) -> None:
    """Delete the files under `path`, keeping its folders."""
    for root, _, names in os.walk(path):
        for name in names:
            os.unlink(os.path.join(root, name))


@dataclasses.dataclass
class Transfer:
    status: int
    seconds: float
    body: str


def curl_argv(url: str, path: Path, *, method: str, multipart: bool = False) -> list[str]:
    """curl streaming `path` from disk: raw with -T, or one multipart part named `file` with -F."""
    send = ["-F", f"file=@{path};type=application/octet-stream"] if multipart else [
        "-T", str(path), "-H", "Content-Type: application/octet-stream"]
    # No `Expect: 100-continue`: servers that ignore it would cost curl a one-second wait.
    return ["curl", "-sS", "-X", method, *send, "-H", "Expect:", "-w", r"\n%{http_code} %{time_total}", url]


def curl(argv: list[str]) -> Transfer:
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    body, _, tail = result.stdout.rpartition("\n")
    status, seconds = tail.split()
    return Transfer(int(status), float(seconds), body)


def curl_many(argvs: list[list[str]]) -> tuple[float, list[Transfer]]:
    """Start every curl at once; wall-clock seconds until the last one finished, and each result."""
    started = time.monotonic()
    processes = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for argv in argvs]
    outputs = [process.communicate() for process in processes]
    elapsed = time.monotonic() - started
    transfers = []
    for process, (stdout, stderr) in zip(processes, outputs):
        if process.returncode:
            raise RuntimeError(f"curl failed: {stderr.strip()}")
        body, _, tail = stdout.rpartition("\n")
        status, seconds = tail.split()
        transfers.append(Transfer(int(status), float(seconds), body))
    return elapsed, transfers


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, *, seconds: int, connections: int, threads: int = 1) -> tuple[float, float]:
    """(requests per second, p99 latency in ms) from `wrk --latency`."""
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses under wrk")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    return rps, float(value) * _UNITS[unit]


def median(values: list[float]) -> float:
    return statistics.median(values)


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)) for line in [headers, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = [headers, ["---"] * len(headers), *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)
