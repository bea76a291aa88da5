"""The sandbox every engine runs in: own process group, no network, empty environment, rlimits, a timeout.

No network: the command runs in a fresh network namespace (`unshare --net`, or `unshare --map-root-user --net`
where only user namespaces are allowed). Where the kernel allows neither (some containers), the engine runs
without it and a warning is logged once at startup; the engines' own switches (LibreOffice link updates off,
ffmpeg's protocol whitelist, pandoc --sandbox) still apply. `anclora plugins` shows which mode is in use.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Sequence

from ..errors import ConversionFailed, ConversionTimeout

log = logging.getLogger("anclora.sandbox")

TAIL_BYTES = 64 * 1024
KILL_GRACE = 3.0


@dataclasses.dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 600
    file_bytes: int = 2 * 1024**3
    open_files: int = 1024
    memory_bytes: int | None = None  # RLIMIT_AS: only for engines that tolerate it (not JITs)


@dataclasses.dataclass
class Result:
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float


@functools.lru_cache(maxsize=1)
def network_isolation() -> tuple[str, ...]:
    """The command prefix that removes network access here, or () when none works."""
    unshare = shutil.which("unshare")
    if unshare:
        for prefix in ((unshare, "--net", "--"), (unshare, "--map-root-user", "--net", "--")):
            try:
                if subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0:
                    return prefix
            except (OSError, subprocess.TimeoutExpired):
                continue
    log.warning("network namespaces are not available: engines run without network isolation")
    return ()


def clean_env(workdir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Nothing of the server's environment (no DATABASE_URL, no secrets): a PATH, a HOME, a locale."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    env.update(extra or {})
    return env


def apply_limits(limits: Limits) -> None:
    """In the engine process, before it runs: no core files, and the CPU, file size, open files and memory caps."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    if limits.memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


async def _pump(stream: asyncio.StreamReader, on_line: Callable[[bytes], None] | None) -> bytes:
    tail = bytearray()
    while line := await stream.readline():
        if on_line is not None:
            on_line(line)
        tail += line
        if len(tail) > TAIL_BYTES:
            del tail[: len(tail) - TAIL_BYTES]
    return bytes(tail)


async def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    limits: Limits = Limits(),
    env: dict[str, str] | None = None,
    network: bool = False,
    on_stdout_line: Callable[[bytes], None] | None = None,
) -> Result:
    """Run one engine command and wait for it. The whole process group is killed when it times out, when the
    caller is cancelled, and after it exits (no survivors). Raises ConversionTimeout on timeout."""
    prefix = () if network else network_isolation()
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *prefix, *argv,
        cwd=cwd,
        env=env if env is not None else clean_env(cwd),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=functools.partial(apply_limits, limits),
    )
    pgid = process.pid
    pumps = asyncio.gather(_pump(process.stdout, on_stdout_line), _pump(process.stderr, None))
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except asyncio.TimeoutError:
        await stop_group(pgid, asyncio.ensure_future(process.wait()))
        raise ConversionTimeout(f"{Path(argv[0]).name} did not finish within {timeout:g} s") from None
    except BaseException:
        await stop_group(pgid, asyncio.ensure_future(process.wait()))
        raise
    finally:
        kill_group(pgid)
    stdout, stderr = await pumps
    return Result(process.returncode, stdout, stderr, time.monotonic() - started)


async def stop_group(pgid: int, exited: asyncio.Future, first: int = signal.SIGTERM) -> None:
    """Signal the process group (`first`, then SIGKILL), waiting up to KILL_GRACE after each for `exited` (the
    leader's end) to be done; a failed `exited` counts as done."""
    for sig in dict.fromkeys((first, signal.SIGKILL)):
        kill_group(pgid, sig)
        try:
            await asyncio.wait_for(asyncio.shield(exited), KILL_GRACE)
            return
        except (asyncio.TimeoutError, asyncio.CancelledError):
            continue
        except Exception:
            return


def verify_output(path: Path, expected_format: str) -> None:
    """Never trust an engine's exit code: the output must exist, be non-empty and look like its format."""
    from ..sniff import matches

    if not path.is_file() or path.stat().st_size == 0:
        raise ConversionFailed(f"the engine produced no {expected_format} output")
    if not matches(path, expected_format):
        raise ConversionFailed(f"the engine's output is not a valid {expected_format} file")
