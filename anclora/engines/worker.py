"""Pure-Python conversion work in a sandboxed child process, and the line protocol both sides speak.

Parsers such as Pillow, openpyxl, pyarrow or pypdf run in the server's own interpreter only at their peril: a
decompression bomb would take the server with it. So a plugin runs `python <plugins>/_<kind>_worker.py SRC DST
SOURCE TARGET OPTIONS` through the sandbox with a memory cap (RLIMIT_AS), a CPU limit and a timeout. The child
writes JSON lines on stdout: `{"progress": n}` while it works and, when it refuses the input,
`{"error": "<code>", "message": "...", "details": {...}}` (details optional) before exiting with status 2.
Anything else that kills it (the memory or CPU limit, a crash) is one failed conversion, never a failed server.
In a server the child is forked from a warm worker that has already imported the script
(`anclora.engines.zygote`), with the same sandbox; elsewhere (the command line) it is spawned afresh.

Plugins and their worker scripts import it as `anclora.engines.worker`; third-party plugins may use it too.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import subprocess
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger("anclora.plugins.worker")

REFUSED = 2  # exit status of a worker that refused its input on purpose


# -- the parent side --------------------------------------------------------------------------------------------

class ProgressRelay:
    """Turns progress seen in a synchronous stdout callback into awaited `ctx.progress` calls, in order."""

    def __init__(self, ctx, scale: Callable[[float], float] = lambda value: value):
        self.ctx = ctx
        self.scale = scale
        self.tasks: set[asyncio.Task] = set()
        self.last = -1

    def __call__(self, value: float) -> None:
        percent = int(self.scale(value))
        if percent <= self.last:
            return
        self.last = percent
        import asyncio  # here, not at the top: the worker processes import this module too and never need it

        task = asyncio.get_running_loop().create_task(self.ctx.progress(percent))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self) -> None:
        import asyncio

        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


@functools.cache
def probe(code: str, timeout: float = 60) -> str:
    """What `code` prints in a fresh interpreter, asked once per process: how a plugin learns what its library
    can do on this machine without loading the library into the server."""
    try:
        result = subprocess.run([sys.executable, "-B", "-E", "-s", "-c", code], capture_output=True, text=True,
                                timeout=timeout)
    except (OSError, subprocess.SubprocessError) as error:
        log.warning("probe failed: %s", error)
        return ""
    return result.stdout if result.returncode == 0 else ""


async def run_worker(script: Path, src: Path, dst: Path, source: str, options: dict[str, Any], ctx, *,
                     memory_bytes: int, cpu_seconds: int, timeout: float,
                     progress_span: tuple[float, float] = (5, 100)) -> None:
    """Run one worker script on `src` → `dst`; raise the error it reported, or ConversionFailed if it died.
    The worker's 0-100 progress is reported as `progress_span` of the conversion's."""
    from anclora.engines import sandbox, zygote
    from anclora.errors import (ConversionFailed, InsufficientStorage, PasswordIncorrect, PasswordRequired,
                                UnsupportedMediaType)

    low, high = progress_span
    relay = ProgressRelay(ctx, scale=lambda value: low + value * (high - low) / 100)
    refusal: dict[str, str] = {}

    def on_line(line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        if isinstance(message, dict) and "progress" in message:
            relay(float(message["progress"]))
        elif isinstance(message, dict) and "error" in message:
            refusal.update(code=str(message["error"]), message=str(message.get("message", "")),
                           details=message.get("details"))

    args = [str(src), str(dst), source, ctx.target_format, json.dumps(options)]
    limits = sandbox.Limits(cpu_seconds=cpu_seconds, memory_bytes=memory_bytes, open_files=64)
    timeout = min(timeout, ctx.timeout)
    warm = ctx.resources.get(zygote.SERVICE)
    if warm is not None:
        result = await warm.for_script(script).run(args, cwd=ctx.workdir, timeout=timeout, limits=limits,
                                                   on_stdout_line=on_line)
    else:
        result = await sandbox.run([sys.executable, "-B", "-E", "-s", str(script), *args], cwd=ctx.workdir,
                                   timeout=timeout, limits=limits, on_stdout_line=on_line)
    await relay.drain()
    if result.returncode == 0:
        return
    if refusal:
        error = {"unsupported_media_type": UnsupportedMediaType, "insufficient_storage": InsufficientStorage,
                 "password_required": PasswordRequired, "password_incorrect": PasswordIncorrect,
                 }.get(refusal["code"], ConversionFailed)
        raise error(refusal["message"] or None, details=refusal["details"])
    log.info("%s exited with %s: %s", script.name, result.returncode, result.stderr[-2000:].decode(errors="replace"))
    raise ConversionFailed(f"the {source} file could not be converted: it needs more memory or time "
                           "than allowed, or it is damaged")


# -- the child side ---------------------------------------------------------------------------------------------

class Refused(Exception):
    """Raised by worker code for input it will not convert; the message (and details) are shown to the user."""

    code = "conversion_failed"

    def __init__(self, message: str, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code or self.code
        self.details = details


JOB: str | None = None  # set in a warm worker's child: its lines are tagged with the job they belong to


def emit(**message: Any) -> None:
    if JOB is not None:
        message["job"] = JOB
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def progress(percent: float) -> None:
    emit(progress=round(percent, 1))


def serve(convert: Callable[[Path, Path, str, str, dict[str, Any]], None]) -> None:
    """The worker's main: parse argv, run `convert`, report a refusal as one JSON line and exit status 2."""
    run_convert(convert, sys.argv[1:6])


def run_convert(convert: Callable[[Path, Path, str, str, dict[str, Any]], None], args: list[str]) -> None:
    """Run `convert` on SRC DST SOURCE TARGET OPTIONS_JSON; a refusal is one JSON line and exit status 2."""
    src, dst, source, target, options = args
    try:
        convert(Path(src), Path(dst), source, target, json.loads(options))
    except Refused as error:
        _refuse(error.code, str(error), error.details)
    except MemoryError:
        _refuse("conversion_failed", f"the {source} file needs more memory than allowed")
    except RecursionError:
        _refuse("conversion_failed", f"the {source} file is nested too deeply")
    except Exception as error:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            _refuse("insufficient_storage", f"no space left on the server to write the {target} output")
        traceback.print_exc()
        _refuse("conversion_failed", f"the {source} file could not be converted to {target}: it may be damaged")
    progress(100)


def _refuse(code: str, message: str, details: dict[str, Any] | None = None) -> None:
    emit(error=code, message=message, **({"details": details} if details else {}))
    sys.stdout.flush()
    sys.exit(REFUSED)
