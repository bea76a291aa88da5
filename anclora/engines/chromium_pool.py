"""A warm pool of headless Chromium browsers, each sandboxed with a fresh profile and driven over DevTools.

Usable on its own (benchmarks, scripts):

    pool = ChromiumPool(size=2)
    await pool.render(PageJob(...), timeout=60)   # the first render starts the pool
    await pool.close()

Each browser is started like a sandboxed engine (own process group, no network namespace, clean environment,
rlimits) with `--remote-debugging-pipe`: the DevTools protocol runs over two pipes, so no port is opened. Each
browser keeps one tab (`chromium_render.Page`) that every job reuses, at an origin of its own, with the tab reset
after it. A browser is replaced by a
fresh one (new profile, new processes) after `recycle_after` renders, when its processes' memory passes
`max_memory_bytes`, when it crashed, and when a render outlives its timeout (a script that never yields, a page that
never loads): its whole process group is killed first.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from ..errors import ConversionFailed, ConversionTimeout
from . import sandbox
from .pool_tasks import PoolTasks
from .cdp import MAX_MESSAGE, ConnectionLost, PipeConnection, ProtocolError
from .chromium_render import Page, PageJob, open_page, render_page
from .office_pool import group_processes

log = logging.getLogger("anclora.chromium")

ENGINE = "chromium"
EXECUTABLE = "/usr/bin/chromium"
# Browsers live long: the CPU rlimit is cumulative per process, so it only stops runaways; timeouts do the rest.
# No RLIMIT_AS: V8 reserves far more address space than it uses; memory is watched by `max_memory_bytes` instead.
BROWSER_LIMITS = sandbox.Limits(cpu_seconds=24 * 3600, open_files=4096)
KILL_GRACE = 5.0
FLAGS = (
    "--headless", "--remote-debugging-pipe", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
    "--disable-extensions", "--disable-default-apps", "--disable-breakpad", "--mute-audio", "--hide-scrollbars",
    "--disable-features=Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider",
    # Defence in depth behind the network namespace and the Fetch interception: what the browser might send
    # without asking DevTools (WebSockets, WebRTC) goes to a proxy that does not exist, loopback included.
    "--proxy-server=http://0.0.0.0:9", "--proxy-bypass-list=<-loopback>",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    # A script that hoards memory crashes its own renderer at this JavaScript heap size, not the machine.
    "--js-flags=--max-old-space-size=512",
    # One renderer process, reused job after job by the browser's one tab: starting a renderer per document
    # cost more CPU than rendering it. Jobs never share a site (each gets a fresh origin), so site isolation has
    # nothing to separate; as root Chromium runs without its own sandbox anyway, and the engine sandbox holds.
    "--disable-site-isolation-trials", "--renderer-process-limit=1",
)


def browser_argv(profile: Path) -> list[str]:
    argv = [EXECUTABLE, *FLAGS, f"--user-data-dir={profile}"]
    if os.geteuid() == 0 or "--map-root-user" in sandbox.network_isolation():
        argv.append("--no-sandbox")  # Chromium's own sandbox refuses to run as (namespace) root
    return argv


@dataclasses.dataclass(frozen=True)
class PageRun:
    """What one render used: which browser (and so which process group and profile), and how long it took."""
    browser: int
    pgid: int
    seconds: float


class Browser:
    """One Chromium process tree in its own process group, folder and profile."""

    def __init__(self, number: int, root: Path, isolated: bool = True):
        self.number = number
        self.isolated = isolated
        self.folder = root / f"browser-{number}-{uuid.uuid4().hex[:8]}"
        self.process: asyncio.subprocess.Process | None = None
        self.connection: PipeConnection | None = None
        self.renders = 0
        self.state = "starting"
        self.tab: asyncio.Task | None = None  # the one page, opened once and reused (chromium_render.Page)

    @property
    def pgid(self) -> int:
        return self.process.pid if self.process else 0

    @property
    def alive(self) -> bool:
        return (self.process is not None and self.process.returncode is None and self.connection is not None
                and not self.connection.closed)

    async def start(self, timeout: float) -> None:
        self.folder.mkdir(mode=0o700, parents=True)
        to_browser, from_browser = os.pipe(), os.pipe()
        # bash (not dash: it takes fd numbers above 9) moves the pipe ends to fds 3 and 4, where
        # --remote-debugging-pipe expects them
        trampoline = f'exec "$@" 3<&{to_browser[0]} 4>&{from_browser[1]}'
        try:
            with open(self.folder / "engine.log", "wb") as engine_log:
                self.process = await asyncio.create_subprocess_exec(
                    *(sandbox.network_isolation() if self.isolated else ()), "/bin/bash", "-c", trampoline, "bash",
                    *browser_argv(self.folder / "profile"),
                    cwd=self.folder, env=sandbox.clean_env(self.folder), stdin=asyncio.subprocess.DEVNULL,
                    stdout=engine_log, stderr=engine_log, pass_fds=(to_browser[0], from_browser[1]),
                    start_new_session=True, preexec_fn=functools.partial(sandbox.apply_limits, BROWSER_LIMITS))
        finally:
            os.close(to_browser[0])
            os.close(from_browser[1])
        self.connection = await _connect(to_browser[1], from_browser[0])
        try:
            await asyncio.wait_for(self.connection.send("Browser.getVersion"), timeout)
        except BaseException:
            await self.kill()
            raise

    def open_tab(self) -> None:
        """Open the browser's tab now, while it waits for work, so the first job does not wait for a renderer."""
        self.tab = asyncio.get_running_loop().create_task(open_page(self.connection))
        self.tab.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def page(self) -> Page:
        """The browser's tab; a new one when it crashed or could not be reset."""
        if self.tab is not None:
            with contextlib.suppress(Exception):
                page = await self.tab
                if page.usable:
                    return page
                with contextlib.suppress(ProtocolError, ConnectionLost):
                    await page.close()
        self.open_tab()
        return await self.tab

    def memory(self) -> int:
        """Proportional set size of the browser's processes: shared pages counted once, not once per process."""
        total = 0
        for pid in group_processes(self.pgid) if self.process else ():
            with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
                total += sum(int(line.split()[1]) * 1024 for line in rollup if line.startswith(b"Pss:"))
        return total

    async def kill(self) -> None:
        """SIGKILL the whole process group and wait until none of it is left; remove the folder."""
        if self.tab is not None:
            self.tab.cancel()
        if self.process is None:
            return
        sandbox.kill_group(self.pgid)
        with contextlib.suppress(ProcessLookupError):
            await self.process.wait()
        if self.connection is not None:
            await self.connection.close()
        deadline = time.monotonic() + KILL_GRACE
        while group_processes(self.pgid) and time.monotonic() < deadline:
            sandbox.kill_group(self.pgid)  # children mid-fork when the group was killed may appear late
            await asyncio.sleep(0.05)
        shutil.rmtree(self.folder, ignore_errors=True)


async def _connect(write_fd: int, read_fd: int) -> PipeConnection:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_MESSAGE)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", 0))
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin,
                                                        os.fdopen(write_fd, "wb", 0))
    connection = PipeConnection(reader, asyncio.StreamWriter(transport, protocol, None, loop))
    connection.start()
    return connection


class ChromiumPool(PoolTasks):
    """N warm browsers; `render` borrows an idle one, `close` stops them all."""

    engine = ENGINE

    def __init__(self, size: int = 2, *, recycle_after: int = 100, max_memory_bytes: int = 1024 * 2**20,
                 start_timeout: float = 30.0, url_guard: Any = None, metrics: Any = None,
                 network_namespace: bool = True):
        self.size = size
        self.recycle_after = recycle_after
        self.max_memory_bytes = max_memory_bytes
        self.start_timeout = start_timeout
        self.url_guard = url_guard  # the operator's URL allowlist (anclora.conversion.url_guard.UrlGuard)
        self.metrics = metrics
        self.network_namespace = network_namespace  # off only in tests that prove the other layers alone
        self.root: Path | None = None  # made at the first start: an unused pool leaves nothing on disk
        self.browsers: dict[int, Browser] = {}
        self.replacements = 0  # browsers replaced so far (recycled, crashed or hung)
        self._idle: asyncio.Queue[Browser] = asyncio.Queue()
        self._tasks: set[asyncio.Task] = set()
        self._started = False
        self._closed = False

    def _launch(self) -> None:
        if not self._started:
            self._started = True
            self.root = Path(tempfile.mkdtemp(prefix="anclora-chromium-"))
            for number in range(1, self.size + 1):
                self._spawn(self._bring_up(number))

    async def start(self) -> None:
        """Start every browser now and wait until all are ready (TimeoutError after `start_timeout`)."""
        self._launch()
        async with asyncio.timeout(self.start_timeout):
            while self._idle.qsize() < self.size:
                await asyncio.sleep(0.05)

    async def render(self, job: PageJob, timeout: float) -> PageRun:
        """Load `job`'s document in a browser's tab and write its PDF or screenshot to `job.dst`."""
        deadline = time.monotonic() + timeout
        for attempt in (1, 2):
            browser = await self._acquire(deadline)
            started = time.monotonic()
            try:
                await asyncio.wait_for(self._render_on(browser, job), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                await self._discard(browser)
                raise ConversionTimeout(f"Chromium did not finish within {timeout:g} s") from None
            except ConnectionLost:
                await self._discard(browser)
                log.warning("Chromium browser %d died (attempt %d)", browser.number, attempt)
                continue
            except asyncio.CancelledError:  # the page may still be loading: the browser cannot be reused
                await self._discard(browser)
                raise
            except BaseException:  # a refused page (422) leaves its browser as good as before
                await self._release(browser)
                raise
            await self._release(browser)
            return PageRun(browser.number, browser.pgid, time.monotonic() - started)
        raise ConversionFailed("Chromium crashed on this document")

    @staticmethod
    async def _render_on(browser: Browser, job: PageJob) -> None:
        await render_page(await browser.page(), job)

    async def _acquire(self, deadline: float) -> Browser:
        if self._closed:
            raise ConversionFailed("the Chromium pool is closed")
        self._launch()
        while True:
            try:
                browser = await asyncio.wait_for(self._idle.get(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise ConversionTimeout("no Chromium browser became free in time") from None
            if browser.alive:
                browser.state = "busy"
                self._report()
                return browser
            log.warning("Chromium browser %d exited while idle; replacing it", browser.number)
            await self._discard(browser)

    async def _release(self, browser: Browser) -> None:
        browser.renders += 1
        memory = browser.memory()
        if browser.renders >= self.recycle_after or memory > self.max_memory_bytes or not browser.alive:
            log.info("recycling Chromium browser %d after %d renders (%d MiB)",
                     browser.number, browser.renders, memory // 2**20)
            await self._discard(browser)
            return
        browser.state = "idle"
        self._idle.put_nowait(browser)
        self._report()

    async def _discard(self, browser: Browser) -> None:
        """Kill a broken, hung or worn browser now (no survivors) and start its replacement in the background."""
        browser.state = "starting"
        self._report()
        self.replacements += 1
        await browser.kill()
        self._spawn(self._bring_up(browser.number))

    async def _bring_up(self, number: int) -> None:
        """Start browser `number`, retrying with backoff while the pool is open."""
        delay = 1.0
        while not self._closed:
            browser = Browser(number, self.root, self.network_namespace)
            self.browsers[number] = browser
            self._report()
            try:
                await browser.start(self.start_timeout)
            except Exception as error:
                log.error("Chromium browser %d failed to start: %s", number, error)
                await browser.kill()
                await asyncio.sleep(delay)  # an engine that cannot start now should not spin the CPU
                delay = min(delay * 2, 30.0)
                continue
            browser.state = "idle"
            browser.open_tab()
            self._idle.put_nowait(browser)
            self._report()
            return

    def _members(self):
        return self.browsers.values()

    async def close(self) -> None:
        """Stop every browser and remove their folders."""
        self._closed = True
        await self._cancel_tasks()
        await asyncio.gather(*(browser.kill() for browser in self.browsers.values()), return_exceptions=True)
        self.browsers.clear()
        self._report()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    async def __aenter__(self) -> "ChromiumPool":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

