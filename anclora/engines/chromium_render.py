"""A browser tab rendering one job at a time: every request answered by a router, then printed to PDF or captured.

The page never reaches the network on its own: the DevTools Fetch domain pauses every request the page makes
(documents, stylesheets, images, scripts, fetch/XHR) and the job's router answers it — with a file of the job's
folder, with bytes the URL guard fetched, or with a refusal. Requests the Fetch domain cannot see (WebSockets,
WebRTC) have no network to go to: the browser runs in an empty network namespace behind a proxy that does not exist.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

from ..errors import ConversionFailed
from .cdp import ConnectionLost, PipeConnection, ProtocolError

log = logging.getLogger("anclora.chromium")

READ_CHUNK = 4 * 2**20  # bytes of the printed PDF asked for per IO.read
POLL_SECONDS = 0.05  # how often wait-for-selector and wait-for-expression look again


@dataclasses.dataclass
class Answer:
    """A router's answer to one request: a response to give the page, or a refusal (`status` None)."""
    status: int | None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b""
    reason: str = ""

    @classmethod
    def refuse(cls, reason: str) -> "Answer":
        return cls(None, reason=reason)


Router = Callable[[dict[str, Any]], Awaitable[Answer]]


@dataclasses.dataclass
class PageJob:
    """What to load and what to make of it. `pdf` holds Page.printToPDF's parameters; `screenshot` the viewport
    (`width`, `height`), `full_page`, `format` and `quality` of a capture."""
    url: str
    router: Router
    dst: Path
    target: str  # pdf, png or jpeg
    pdf: dict[str, Any] = dataclasses.field(default_factory=dict)
    screenshot: dict[str, Any] = dataclasses.field(default_factory=dict)
    media: str | None = None
    wait_selector: str | None = None
    wait_expression: str | None = None
    wait_delay: float = 0.0
    refusals: list[str] = dataclasses.field(default_factory=list)  # filled in: what the router refused


class Page:
    """A browser's one tab, in a browser context of its own, reused job after job: starting a tab (a renderer
    process, the DevTools domains) costs more than rendering a small document. Nothing carries from one job to the
    next: each document gets an origin never used before (cookies, storage and cache are keyed by site), the tab
    goes back to about:blank, and the stored data of every origin the job touched is cleared."""

    def __init__(self, connection: PipeConnection):
        self.connection = connection
        self.job: PageJob | None = None
        self.context_id = ""
        self.session = ""
        self.usable = True  # false once the renderer crashed or the tab could not be reset
        self.origins: set[str] = set()  # what the job's requests were answered for
        self.loaded = self._new_load()

    def _new_load(self) -> asyncio.Future:
        loaded = asyncio.get_running_loop().create_future()
        loaded.add_done_callback(lambda done: done.cancelled() or done.exception())  # an idle tab may crash
        return loaded

    async def open(self) -> None:
        self.context_id = (await self.connection.send("Target.createBrowserContext", {"disposeOnDetach": True}))[
            "browserContextId"]
        target = await self.connection.send("Target.createTarget",
                                            {"url": "about:blank", "browserContextId": self.context_id})
        attached = await self.connection.send("Target.attachToTarget",
                                              {"targetId": target["targetId"], "flatten": True})
        self.session = attached["sessionId"]
        self.connection.on("Fetch.requestPaused", self._paused, self.session)
        self.connection.on("Page.loadEventFired", self._loaded, self.session)
        self.connection.on("Page.javascriptDialogOpening", self._dialog, self.session)
        self.connection.on("Inspector.targetCrashed", self._crashed, self.session)
        await self.send("Inspector.enable")
        await self.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})
        await self.send("Page.enable")

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.connection.send(method, params, self.session)

    async def start_job(self, job: PageJob) -> None:
        self.job, self.loaded, self.origins = job, self._new_load(), set()
        await self.send("Emulation.setEmulatedMedia", {"media": job.media or ""})
        if job.target == "pdf":
            await self.send("Emulation.clearDeviceMetricsOverride")
        else:
            await self.send("Emulation.setDeviceMetricsOverride", {
                "width": job.screenshot["width"], "height": job.screenshot["height"], "deviceScaleFactor": 1,
                "mobile": False})

    async def end_job(self) -> None:
        """Back to a blank tab, every origin the job touched cleared; a tab that cannot be reset is not reused."""
        self.job = None
        if not self.usable:
            return
        try:
            await self.send("Page.navigate", {"url": "about:blank"})
            # window.name and the history outlive navigations within a tab; they are the tab's, not the site's
            await self.send("Runtime.evaluate", {"expression": "window.name = ''"})
            await self.send("Page.resetNavigationHistory")
            for origin in self.origins:
                await self.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
            await self.connection.send("Storage.clearCookies", {"browserContextId": self.context_id})
        except (ProtocolError, ConnectionLost):
            self.usable = False

    async def close(self) -> None:
        self.connection.forget(self.session)
        if self.context_id and not self.connection.closed:
            await self.connection.send("Target.disposeBrowserContext", {"browserContextId": self.context_id})

    def _loaded(self, params: dict[str, Any]) -> None:
        if not self.loaded.done():
            self.loaded.set_result(True)

    def _crashed(self, params: dict[str, Any]) -> None:
        self.usable = False
        if not self.loaded.done():
            self.loaded.set_exception(ConversionFailed("The page crashed Chromium's renderer (out of memory?)."))

    def _dialog(self, params: dict[str, Any]) -> None:
        """alert(), confirm() and prompt() would stop the page until someone answers: dismiss them."""
        self.connection.post("Page.handleJavaScriptDialog", {"accept": False}, self.session)

    def _paused(self, params: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._answer(params))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def _answer(self, params: dict[str, Any]) -> None:
        try:
            if self.job is None:
                raise RuntimeError("no document is loading")
            answer = await self.job.router(params["request"])
        except Exception as error:  # a router that fails refuses; it never leaves the page waiting
            log.warning("refusing %s: %s", params["request"].get("url", "")[:200], error)
            answer = Answer.refuse(f"error: {error}")
        if answer.status is None:
            if self.job is not None:
                self.job.refusals.append(f"{params['request'].get('url', '')[:300]}: {answer.reason}")
            self.connection.post("Fetch.failRequest", {"requestId": params["requestId"],
                                                       "errorReason": "BlockedByClient"}, self.session)
            return
        parts = urlsplit(params["request"]["url"])
        self.origins.add(f"{parts.scheme}://{parts.netloc}")
        headers = [{"name": name, "value": value} for name, value in answer.headers.items()]
        self.connection.post("Fetch.fulfillRequest", {
            "requestId": params["requestId"], "responseCode": answer.status, "responseHeaders": headers,
            "body": base64.b64encode(answer.body).decode()}, self.session)


async def open_page(connection: PipeConnection) -> Page:
    """A blank tab in a new browser context (the pool opens one per browser, while the browser waits for work)."""
    page = Page(connection)
    await page.open()
    return page


async def render_page(page: Page, job: PageJob) -> None:
    """Load the job's document in the tab, wait as asked, write the PDF or screenshot, reset the tab. The caller
    bounds the time; a tab cancelled mid-job goes with its browser, so nothing is awaited on it then."""
    try:
        await page.start_job(job)
        await _load(page, job)
        if job.target == "pdf":
            await _print(page, job)
        else:
            await _capture(page, job)
    except asyncio.CancelledError:
        page.usable = False
        raise
    except ProtocolError as error:
        await page.end_job()
        raise ConversionFailed("Chromium could not render this document",
                               details={"engine": str(error)[:300]}) from None
    except BaseException:
        await page.end_job()
        raise
    await page.end_job()


async def _load(page: Page, job: PageJob) -> None:
    navigation = await page.send("Page.navigate", {"url": job.url})
    if navigation.get("errorText"):
        raise ConversionFailed("The page could not be loaded.",
                               details={"engine": navigation["errorText"], "refused": job.refusals[:5]})
    await page.loaded
    await _evaluate(page, "document.fonts.ready.then(() => true)")
    if job.wait_selector:
        await _wait_for(page, f"document.querySelector({json.dumps(job.wait_selector)}) !== null")
    if job.wait_expression:
        await _wait_for(page, job.wait_expression)
    if job.wait_delay:
        await asyncio.sleep(job.wait_delay)  # what the user asked for: time for the page's own timers


async def _evaluate(page: Page, expression: str) -> Any:
    reply = await page.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                 "returnByValue": True})
    if "exceptionDetails" in reply:
        text = reply["exceptionDetails"].get("exception", {}).get("description") or reply["exceptionDetails"].get(
            "text", "")
        raise ConversionFailed("A wait condition could not be evaluated on the page.",
                               details={"engine": str(text)[:300]})
    return reply.get("result", {}).get("value")


async def _wait_for(page: Page, expression: str) -> None:
    """Until the expression is truthy; the caller's deadline ends a wait for what never comes."""
    while not await _evaluate(page, f"Boolean({expression})"):
        await asyncio.sleep(POLL_SECONDS)


async def _print(page: Page, job: PageJob) -> None:
    reply = await page.send("Page.printToPDF", {**job.pdf, "transferMode": "ReturnAsStream"})
    stream = reply["stream"]
    try:
        with open(job.dst, "wb") as out:
            while True:
                chunk = await page.send("IO.read", {"handle": stream, "size": READ_CHUNK})
                data = chunk.get("data", "")
                out.write(base64.b64decode(data) if chunk.get("base64Encoded") else data.encode("latin-1"))
                if chunk.get("eof"):
                    break
    finally:
        with contextlib.suppress(ProtocolError, ConnectionLost):
            await page.send("IO.close", {"handle": stream})


async def _capture(page: Page, job: PageJob) -> None:
    shot = job.screenshot
    params: dict[str, Any] = {"format": job.target, "captureBeyondViewport": bool(shot.get("full_page"))}
    if job.target == "jpeg":
        params["quality"] = shot.get("quality", 90)
    if shot.get("full_page"):
        size = await _evaluate(page, "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        width, height = shot["width"], min(int(size[1]), shot["max_height"])
        params["clip"] = {"x": 0, "y": 0, "width": width, "height": max(height, 1), "scale": 1}
    reply = await page.send("Page.captureScreenshot", params)
    job.dst.write_bytes(base64.b64decode(reply["data"]))
