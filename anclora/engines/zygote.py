"""Warm workers: one sandboxed process per worker script that has imported it (Pillow, the table readers, …) and
forks a fresh child for each conversion.

Starting `python _image_worker.py` costs about 0.1 s of imports before any pixel is read; a fork of a process that
has done them once costs a millisecond. A script may define `warm()`, which the zygote calls once after importing
it, for what its library would otherwise load lazily in every child (Pillow's format plugins: 3-5 ms a job). The
zygote itself never reads a user's file: it only forks. Each child gets what a spawned worker gets — its own session
and process group, the job's folder as working and home directory, an environment holding nothing but PATH, HOME,
TMPDIR and the locale, the converter's rlimits — and runs inside the zygote's network namespace, which has no
network. Children share the zygote's memory layout (address-space randomisation happens once per zygote, not once
per job); set `ANCLORA_WARM_WORKERS=false` to spawn every worker afresh instead.

The protocol, JSON lines: the server writes `{"job", "args", "cwd", "limits"}` on the zygote's stdin; on its
stdout come `{"job", "pid"}` after the fork, the child's own lines (`progress`, `error`) tagged with `job`, and
`{"job", "exit"}` when the zygote has reaped the child (negative: killed by that signal).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import json
import logging
import os
import selectors
import shutil
import signal
import sys
import tempfile  # (here, not in each child: imported there it cost every job 2 ms)
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from . import sandbox
from ..errors import ConversionFailed, ConversionTimeout

log = logging.getLogger("anclora.sandbox")

SERVICE = "warm_workers"  # the ZygotePool's name among the engine pools (ctx.engine_pools)
STDERR_FILE = ".worker-stderr"  # in the job's folder: the child's stderr, read back when it fails
ZYGOTE_LOG = "zygote.log"  # in the zygote's folder: its own stderr (an import error of the script, say)
FORK_TIMEOUT = 10.0  # seconds for the zygote to report a fork (it does nothing else)
LINE_LIMIT = 1024 * 1024


# -- the server side --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class _Job:
    on_line: Callable[[bytes], None] | None
    pid: asyncio.Future
    exit: asyncio.Future


class Zygote:
    """One warm process for one worker script; started on first use, started again if it dies."""

    def __init__(self, script: Path, folder: Path):
        self.script = script
        self.folder = folder
        self.process: asyncio.subprocess.Process | None = None
        self.jobs: dict[str, _Job] = {}
        self._starting = asyncio.Lock()
        self._reader: asyncio.Task | None = None
        self._closing = False

    async def _ensure_running(self) -> asyncio.subprocess.Process:
        async with self._starting:
            if self._reader is None or self._reader.done():
                self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                with open(self.folder / ZYGOTE_LOG, "wb") as errors:
                    self.process = await asyncio.create_subprocess_exec(
                        *sandbox.network_isolation(), sys.executable, "-P", "-B", "-E", "-s", "-m", __name__,
                        str(self.script),
                        cwd=self.folder, env=sandbox.clean_env(self.folder), start_new_session=True,
                        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=errors,
                        limit=LINE_LIMIT)
                self._reader = asyncio.create_task(self._read(self.process), name=f"zygote {self.script.name}")
                log.info("warm worker for %s started (pid %s)", self.script.name, self.process.pid)
            return self.process

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        """Dispatch the zygote's lines to their jobs until it exits (its orphaned children may still hold the
        pipe open, so its exit, not the end of its output, ends their jobs)."""
        lines = asyncio.create_task(self._dispatch(process.stdout))
        await _exit_of(process.pid)
        lines.cancel()
        await asyncio.gather(lines, return_exceptions=True)
        if not self._closing:
            try:
                said = (self.folder / ZYGOTE_LOG).read_bytes()[-2000:].decode(errors="replace").strip()
            except OSError:
                said = ""
            log.warning("warm worker for %s exited%s", self.script.name, f": {said}" if said else "")
        for job in self.jobs.values():
            for future in (job.pid, job.exit):
                if not future.done():
                    future.set_exception(ConversionFailed("the worker process was lost"))

    async def _dispatch(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            try:
                message = json.loads(line)
                job = self.jobs.get(message.get("job"))
            except (ValueError, AttributeError):
                continue
            if job is None:
                if "pid" in message:  # a child whose job was given up before its pid arrived: nobody waits for it
                    sandbox.kill_group(int(message["pid"]))
                continue
            if "pid" in message and not job.pid.done():
                job.pid.set_result(int(message["pid"]))
            elif "exit" in message and not job.exit.done():
                if not job.pid.done():  # the fork itself failed
                    job.pid.set_exception(ConversionFailed("the worker process could not be started"))
                job.exit.set_result(int(message["exit"]))
            elif job.on_line is not None:
                job.on_line(line)

    async def run(self, args: list[str], *, cwd: Path, timeout: float, limits: sandbox.Limits,
                  on_stdout_line: Callable[[bytes], None] | None = None) -> sandbox.Result:
        """Like `sandbox.run` for a worker script: the child's exit status, and its stderr when it failed."""
        started = time.monotonic()
        process = await self._ensure_running()
        loop = asyncio.get_running_loop()
        job_id = uuid.uuid4().hex
        job = self.jobs[job_id] = _Job(on_stdout_line, loop.create_future(), loop.create_future())
        try:
            request = {"job": job_id, "args": args, "cwd": str(cwd), "limits": dataclasses.asdict(limits)}
            process.stdin.write(json.dumps(request).encode() + b"\n")
            await process.stdin.drain()
            try:  # (asyncio.timeout, not wait_for, which would wrap each wait in a task of its own)
                async with asyncio.timeout(FORK_TIMEOUT):
                    pid = await asyncio.shield(job.pid)
            except TimeoutError:  # (if its pid comes later, the child is killed on arrival)
                raise ConversionFailed("the worker process did not start") from None
            except BaseException:
                if job.pid.done() and job.pid.exception() is None:
                    sandbox.kill_group(job.pid.result())
                raise
            try:
                async with asyncio.timeout(timeout):
                    returncode = await asyncio.shield(job.exit)
            except TimeoutError:
                await sandbox.stop_group(pid, job.exit)
                raise ConversionTimeout(f"{self.script.name} did not finish within {timeout:g} s") from None
            except BaseException:
                await sandbox.stop_group(pid, job.exit, first=signal.SIGKILL)
                raise
            finally:
                sandbox.kill_group(pid)  # whatever the child started goes with it
        except (BrokenPipeError, ConnectionResetError):
            raise ConversionFailed("the worker process was lost") from None
        finally:
            self.jobs.pop(job_id, None)
        stderr = b""
        if returncode != 0:
            try:
                stderr = (cwd / STDERR_FILE).read_bytes()[-sandbox.TAIL_BYTES:]
            except OSError:
                pass
        return sandbox.Result(returncode, b"", stderr, time.monotonic() - started)

    async def close(self) -> None:
        if self._reader is None:
            return
        self._closing = True
        if not self._reader.done():
            self.process.stdin.close()  # the zygote kills its children and exits at the end of its input
            try:
                await asyncio.wait_for(asyncio.shield(self._reader), sandbox.KILL_GRACE)
            except asyncio.TimeoutError:
                sandbox.kill_group(self.process.pid)
        await asyncio.gather(self._reader, return_exceptions=True)
        shutil.rmtree(self.folder, ignore_errors=True)


async def _exit_of(pid: int) -> None:
    """Returns when the process has exited (asyncio's `wait()` also waits for every holder of its pipes)."""
    loop = asyncio.get_running_loop()
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    exited = loop.create_future()
    loop.add_reader(fd, lambda: exited.done() or exited.set_result(None))
    try:
        await exited
    finally:
        loop.remove_reader(fd)
        os.close(fd)


class ZygotePool:
    """The warm workers of one server, one per worker script, each in `folder/<script stem>`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.zygotes: dict[Path, Zygote] = {}

    def for_script(self, script: Path) -> Zygote:
        script = script.resolve()
        if script not in self.zygotes:
            self.zygotes[script] = Zygote(script, self.folder / f"{script.stem}.{uuid.uuid4().hex[:8]}")
        return self.zygotes[script]

    async def close(self) -> None:
        await asyncio.gather(*(zygote.close() for zygote in self.zygotes.values()))
        self.zygotes.clear()


# -- the zygote process -----------------------------------------------------------------------------------------

def _load(script: Path) -> Callable[..., None]:
    sys.path.insert(0, str(script.parent))  # its sibling modules, as when run as a script
    spec = importlib.util.spec_from_file_location(f"anclora_worker_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    warm = getattr(module, "warm", None)
    if warm is not None:  # what every child would otherwise load for itself, loaded once to be shared
        warm()
    return module.convert


def _emit(message: dict[str, Any]) -> None:
    os.write(1, json.dumps(message).encode() + b"\n")


def _child(job: dict[str, Any], convert: Callable[..., None], keep_closed: list[int]) -> None:
    """In the forked child: become the job's sandboxed process, convert, exit. Never returns."""
    status = 1
    try:
        os.setsid()
        for fd in keep_closed:
            os.close(fd)
        cwd = Path(job["cwd"])
        os.chdir(cwd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        errors = os.open(cwd / STDERR_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(errors, 2)
        os.environ.clear()
        os.environ.update(sandbox.clean_env(cwd))
        tempfile.tempdir = str(cwd)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        sandbox.apply_limits(sandbox.Limits(**job["limits"]))
        from . import worker

        worker.JOB = job["job"]
        worker.run_convert(convert, job["args"])
        status = 0
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)


def main(script: str) -> None:
    convert = _load(Path(script))
    import gc

    gc.freeze()  # what is loaded now stays shared with the children instead of being copied by the collector
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    children: dict[int, tuple[str, int]] = {}  # pidfd -> (job, pid)
    pending = b""
    while True:
        for key, _ in selector.select():
            if key.fd == 0:
                data = os.read(0, 65536)
                if not data:  # the server is gone: so are the children
                    for _, pid in children.values():
                        sandbox.kill_group(pid)
                    return
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    job = json.loads(line)
                    try:
                        pid = os.fork()
                    except OSError:  # out of processes or memory: this job fails, the zygote stays
                        _emit({"job": job["job"], "exit": -1})
                        continue
                    if pid == 0:
                        _child(job, convert, [0, selector.fileno(), *children])
                    pidfd = os.pidfd_open(pid)
                    children[pidfd] = (job["job"], pid)
                    selector.register(pidfd, selectors.EVENT_READ)
                    _emit({"job": job["job"], "pid": pid})
            else:
                job_id, pid = children.pop(key.fd)
                selector.unregister(key.fd)
                os.close(key.fd)
                _, status = os.waitpid(pid, 0)
                _emit({"job": job_id, "exit": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    main(sys.argv[1])
