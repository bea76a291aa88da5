"""A warm pool of LibreOffice instances, each sandboxed with its own hardened profile and driven over UNO.

Usable on its own (benchmarks, scripts):

    pool = OfficePool(size=2)
    await pool.start()                          # optional: the first conversion starts the pool too
    await pool.convert(Path("in.docx"), Path("out.pdf"), "pdf")
    await pool.close()

Each instance is `uno_bridge.py` under LibreOffice's python, started like a sandboxed engine (own process group,
no network, clean environment, rlimits); soffice is its child. An instance is replaced by a fresh one (new
profile, new processes) after `recycle_after` conversions, when its processes' memory passes `max_rss_bytes`,
when it crashed, and when a conversion outlives its timeout (then its whole process group is killed first).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from ..errors import ConversionFailed, ConversionTimeout, UnsupportedConversion
from ..sniff import sniff
from . import sandbox
from .pool_tasks import PoolTasks

log = logging.getLogger("anclora.office")

ENGINE = "libreoffice"
UNO_PYTHON = "/usr/bin/python3"
BRIDGE = Path(__file__).with_name("uno_bridge.py")
# Instances live long: the CPU rlimit is cumulative per process, so it only stops runaways; timeouts do the rest.
INSTANCE_LIMITS = sandbox.Limits(cpu_seconds=24 * 3600)
KILL_GRACE = 5.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

# The server decides the input type from the bytes, so LibreOffice is told which import filter to use.
IMPORT_FILTERS = {
    "docx": ("writer", "MS Word 2007 XML", ""), "doc": ("writer", "MS Word 97", ""),
    "odt": ("writer", "writer8", ""), "rtf": ("writer", "Rich Text Format", ""),
    "txt": ("writer", "Text (encoded)", "UTF8"),
    "xlsx": ("calc", "Calc MS Excel 2007 XML", ""), "xls": ("calc", "MS Excel 97", ""),
    "ods": ("calc", "calc8", ""),
    "csv": ("calc", "Text - txt - csv (StarCalc)", "44,34,76,1"),  # comma, double quote, UTF-8, from row 1
    "pptx": ("impress", "Impress MS PowerPoint 2007 XML", ""), "ppt": ("impress", "MS PowerPoint 97", ""),
    "odp": ("impress", "impress8", ""),
    "pdf": ("draw", "draw_pdf_import", ""),  # only to write the PDF again as PDF/A or PDF/UA
}
EXPORT_FILTERS = {
    "writer": {"pdf": "writer_pdf_Export", "docx": "MS Word 2007 XML", "odt": "writer8", "doc": "MS Word 97",
               "rtf": "Rich Text Format"},
    "calc": {"pdf": "calc_pdf_Export", "xlsx": "Calc MS Excel 2007 XML", "ods": "calc8", "xls": "MS Excel 97"},
    "impress": {"pdf": "impress_pdf_Export", "pptx": "Impress MS PowerPoint 2007 XML", "odp": "impress8",
                "ppt": "MS PowerPoint 97"},
    "draw": {"pdf": "draw_pdf_Export"},
}


def filters_for(source: str, target: str) -> dict[str, str]:
    """The bridge's filter fields for one conversion; UnsupportedConversion when LibreOffice cannot do it."""
    if source not in IMPORT_FILTERS:
        raise UnsupportedConversion(f"LibreOffice does not read {source}")
    family, name, options = IMPORT_FILTERS[source]
    if target not in EXPORT_FILTERS[family]:
        raise UnsupportedConversion(f"LibreOffice does not turn {source} into {target}")
    return {"import_filter": name, "import_options": options, "export_filter": EXPORT_FILTERS[family][target]}


def group_processes(pgid: int) -> dict[int, int]:
    """The live (not zombie) processes of process group `pgid`: pid -> resident memory in bytes."""
    found: dict[int, int] = {}
    if pgid <= 0:
        return found
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()  # the command name may contain spaces and parentheses
        if int(fields[2]) == pgid and fields[0] != b"Z":
            found[int(entry.name)] = int(fields[21]) * PAGE_SIZE
    return found


class InstanceDied(Exception):
    """The bridge or its soffice went away mid-request."""


@dataclasses.dataclass(frozen=True)
class OfficeRun:
    """What one conversion used: which instance (and so which profile and soffice), and how long it took."""
    instance: int
    profile: Path
    pid: int
    pgid: int
    seconds: float


class OfficeInstance:
    """One bridge process and its soffice, in their own process group, folder and profile."""

    def __init__(self, number: int, root: Path, limits: sandbox.Limits = INSTANCE_LIMITS):
        self.number = number
        self.folder = root / f"instance-{number}-{uuid.uuid4().hex[:8]}"
        self.profile = self.folder / "profile"
        self.pipe = f"anclora-{uuid.uuid4().hex}"
        self.limits = limits
        self.process: asyncio.subprocess.Process | None = None
        self.pid = 0  # soffice's (the oosplash launcher's) pid, from the bridge
        self.conversions = 0
        self.state = "starting"

    @property
    def pgid(self) -> int:
        return self.process.pid if self.process else 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self, timeout: float) -> None:
        self.folder.mkdir(mode=0o700, parents=True)
        with open(self.folder / "engine.log", "wb") as engine_log:
            self.process = await asyncio.create_subprocess_exec(
                *sandbox.network_isolation(), UNO_PYTHON, str(BRIDGE), str(self.profile), self.pipe,
                cwd=self.folder, env=sandbox.clean_env(self.folder),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=engine_log,
                start_new_session=True, preexec_fn=functools.partial(sandbox.apply_limits, self.limits),
            )
        try:
            hello = await asyncio.wait_for(self._read(), timeout)
        except BaseException:
            await self.kill()
            raise
        if not hello.get("ready"):
            await self.kill()
            raise RuntimeError(f"LibreOffice did not start: {hello.get('error')}")
        self.pid = hello["pid"]

    async def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one request and wait for its answer. Raises InstanceDied when the bridge is gone."""
        if not self.alive:
            raise InstanceDied("the instance is not running")
        try:
            self.process.stdin.write(json.dumps(payload).encode() + b"\n")
            await self.process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as error:
            raise InstanceDied(str(error)) from None
        return await self._read()

    async def _read(self) -> dict[str, Any]:
        line = await self.process.stdout.readline()
        if not line:
            raise InstanceDied("the bridge exited")
        try:
            return json.loads(line)
        except ValueError:
            raise InstanceDied(f"the bridge said something unexpected: {line[:200]!r}") from None

    async def ping(self, timeout: float) -> bool:
        try:
            return (await asyncio.wait_for(self.request({"op": "ping"}), timeout)).get("ok", False)
        except (InstanceDied, asyncio.TimeoutError):
            return False

    def rss(self) -> int:
        return sum(group_processes(self.pgid).values()) if self.alive else 0

    def sockets(self) -> list[Path]:
        """The Unix sockets soffice makes in /tmp (hard-wired there): our UNO pipe and its single-instance pipe,
        named after the MD5 of the profile URL in UTF-16, each byte in hex without zero padding."""
        digest = hashlib.md5(self.profile.as_uri().encode("utf-16-le"), usedforsecurity=False).digest()
        ipc_hash = "".join(format(byte, "x") for byte in digest)
        prefix = f"/tmp/OSL_PIPE_{os.geteuid()}_"
        return [Path(prefix + self.pipe), Path(f"{prefix}SingleOfficeIPC_{ipc_hash}")]

    async def kill(self) -> None:
        """SIGKILL the whole process group (stopped processes included) and wait until none of it is left;
        remove the instance's folder and sockets."""
        if self.process is None:
            return
        sandbox.kill_group(self.pgid)
        with contextlib.suppress(ProcessLookupError):
            await self.process.wait()
        await self._wait_group_gone(KILL_GRACE)
        shutil.rmtree(self.folder, ignore_errors=True)
        for socket_path in self.sockets():
            socket_path.unlink(missing_ok=True)

    async def _wait_group_gone(self, seconds: float) -> None:
        """Children that were mid-fork when the group was killed may appear late: kill until none is left."""
        deadline = time.monotonic() + seconds
        while group_processes(self.pgid) and time.monotonic() < deadline:
            sandbox.kill_group(self.pgid)
            await asyncio.sleep(0.05)


class OfficePool(PoolTasks):
    """N warm LibreOffice instances; `convert` borrows an idle one, `close` stops them all."""

    engine = ENGINE

    def __init__(self, size: int = 2, *, recycle_after: int = 200, max_rss_bytes: int = 1024 * 2**20,
                 start_timeout: float = 60.0, ping_timeout: float = 10.0, root: Path | None = None,
                 metrics: Any = None):
        self.size = size
        self.recycle_after = recycle_after
        self.max_rss_bytes = max_rss_bytes
        self.start_timeout = start_timeout
        self.ping_timeout = ping_timeout
        self._own_root = root is None
        self.root = root  # made at the first start when not given: an unused pool leaves nothing on disk
        self.metrics = metrics
        self.instances: dict[int, OfficeInstance] = {}
        self._idle: asyncio.Queue[OfficeInstance] = asyncio.Queue()
        self._tasks: set[asyncio.Task] = set()
        self._started = False
        self._closed = False
        self.replacements = 0  # instances replaced so far (recycled, crashed or hung)
        self._ready = asyncio.Event()

    async def __aenter__(self) -> "OfficePool":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    def _launch(self) -> None:
        if not self._started:
            self._started = True
            if self.root is None:
                self.root = Path(tempfile.mkdtemp(prefix="anclora-office-"))
            for number in range(1, self.size + 1):
                self._spawn(self._bring_up(number))

    async def start(self) -> None:
        """Start every instance now and wait until all are ready (TimeoutError after `start_timeout`)."""
        self._launch()
        async with asyncio.timeout(self.start_timeout):
            while sum(instance.state != "starting" for instance in self.instances.values()) < self.size:
                self._ready.clear()
                await self._ready.wait()

    async def convert(self, src: Path, dst: Path, fmt: str, *, source_format: str | None = None,
                      timeout: float = 300.0, pdf_options: dict[str, Any] | None = None,
                      landscape: bool = False) -> OfficeRun:
        """Convert `src` to `dst` in format `fmt` (the source format is sniffed when not given); `pdf_options` are
        properties of the PDF export filter, `landscape` turns every page style before the export."""
        source_format = source_format or sniff(src, src.suffix)
        request = {"op": "convert", "src": str(src.resolve()), "dst": str(dst.resolve()),
                   **filters_for(source_format, fmt), "filter_data": pdf_options or {}, "landscape": landscape}
        deadline = time.monotonic() + timeout
        for attempt in (1, 2):
            instance = await self._acquire(deadline)
            started = time.monotonic()
            reply = await self._run(instance, request, deadline, timeout)
            if reply.get("ok"):
                return OfficeRun(instance.number, instance.profile, instance.pid, instance.pgid,
                                 time.monotonic() - started)
            if not reply.get("fatal"):
                break
            # soffice was already dead, or died under this document: one more try on a fresh instance
            log.warning("LibreOffice instance %d died (attempt %d): %s", instance.number, attempt, reply["error"])
        log.info("LibreOffice could not convert %s: %s", src.name, reply.get("error"))
        raise ConversionFailed("LibreOffice could not convert this document")

    async def _run(self, instance: OfficeInstance, request: dict, deadline: float, timeout: float) -> dict:
        """One request on a borrowed instance; the instance goes back to the pool or is replaced."""
        try:
            reply = await asyncio.wait_for(instance.request(request), max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            await self._discard(instance)
            raise ConversionTimeout(f"LibreOffice did not finish within {timeout:g} s") from None
        except InstanceDied as error:
            await self._discard(instance)
            return {"ok": False, "fatal": True, "error": str(error)}
        except BaseException:  # cancelled: the instance is mid-conversion, so it cannot be reused
            await self._discard(instance)
            raise
        if reply.get("fatal"):
            await self._discard(instance)
        else:
            self._release(instance)
        return reply

    async def _acquire(self, deadline: float) -> OfficeInstance:
        if self._closed:
            raise ConversionFailed("the office pool is closed")
        self._launch()
        while True:
            try:
                instance = await asyncio.wait_for(self._idle.get(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise ConversionTimeout("no LibreOffice instance became free in time") from None
            if await instance.ping(min(self.ping_timeout, max(0.1, deadline - time.monotonic()))):
                instance.state = "busy"
                self._report()
                return instance
            log.warning("LibreOffice instance %d stopped answering; replacing it", instance.number)
            await self._discard(instance)

    def _release(self, instance: OfficeInstance) -> None:
        instance.conversions += 1
        rss = instance.rss()
        if instance.conversions >= self.recycle_after or rss > self.max_rss_bytes:
            log.info("recycling LibreOffice instance %d after %d conversions (%d MiB)",
                     instance.number, instance.conversions, rss // 2**20)
            instance.state = "starting"
            self._spawn(self._replace(instance))
        else:
            instance.state = "idle"
            self._idle.put_nowait(instance)
        self._report()

    async def _discard(self, instance: OfficeInstance) -> None:
        """Kill a broken or hung instance now (no survivors) and start its replacement in the background."""
        instance.state = "starting"
        self._report()
        await instance.kill()
        self._spawn(self._replace(instance))

    async def _replace(self, instance: OfficeInstance) -> None:
        self.replacements += 1
        await instance.kill()  # no document is open between conversions: nothing is lost
        await self._bring_up(instance.number)

    async def _bring_up(self, number: int) -> None:
        """Start instance `number`, retrying with backoff while the pool is open."""
        delay = 1.0
        while not self._closed:
            instance = OfficeInstance(number, self.root)
            self.instances[number] = instance
            self._report()
            try:
                await instance.start(self.start_timeout)
            except Exception as error:
                log.error("LibreOffice instance %d failed to start: %s", number, error)
                await asyncio.sleep(delay)  # an engine that cannot start now should not spin the CPU
                delay = min(delay * 2, 30.0)
                continue
            instance.state = "idle"
            self._idle.put_nowait(instance)
            self._ready.set()
            self._report()
            return

    def _members(self):
        return self.instances.values()

    async def close(self) -> None:
        """Stop every instance and remove their folders."""
        self._closed = True
        await self._cancel_tasks()
        await asyncio.gather(*(instance.kill() for instance in self.instances.values()), return_exceptions=True)
        self.instances.clear()
        self._report()
        if self._own_root and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

