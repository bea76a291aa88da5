"""Driving Debian's Chromium with Playwright for the web page's tests: a page that records console errors,
requests to other origins and what it transferred, and writes numbered screenshots."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import ConsoleMessage, Page, Request, Response

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# Chromium reports each HTTP error answer on the console; a test names the ones it provokes on purpose.
NETWORK_SCHEMES = ("http:", "https:", "ws:", "wss:", "ftp:")
FAILED_RESOURCE = re.compile(r"Failed to load resource: (?:the server responded with a status of (\d+)|net::(ERR_\w+))")


class WatchedPage:
    def __init__(self, page: Page, origin: str, shots: Path):
        self.page, self.origin, self.shots = page, origin, shots
        self.console_errors: list[str] = []
        self.foreign_requests: list[str] = []
        self.unmarked_api_calls: list[str] = []  # the page's API calls all say X-Requested-With
        self.responses: list[Response] = []
        self.expected_failures: set[tuple[str, int | str]] = set()  # (path or prefix ending in /, status or net error)
        self.allowed_navigation: str | None = None  # an origin the page may send the browser to (Stripe Checkout)
        self._shot = 0
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))
        page.on("request", self._request)
        page.on("response", lambda response: self.responses.append(response))

    def expect_failure(self, path: str, status: int | str) -> None:
        """An HTTP error status (or a network error such as "ERR_CONNECTION_RESET") this test provokes on purpose,
        which Chromium logs on the console; a path ending in `/` stands for every path under it."""
        self.expected_failures.add((path, status))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        failed = FAILED_RESOURCE.search(message.text)
        if failed and self._expected(url.removeprefix(self.origin).split("?")[0], failed[2] or int(failed[1])):
            return
        self.console_errors.append(f"{message.text} ({url})")

    def _expected(self, path: str, status: int | str) -> bool:
        return any(status == wanted and (path == where or where.endswith("/") and path.startswith(where))
                   for where, wanted in self.expected_failures)

    def _request(self, request: Request) -> None:
        # Network requests only: Chromium's own PDF viewer (chrome://, chrome-extension://) and the page's
        # blob: URLs never leave the browser.
        if request.url.startswith(NETWORK_SCHEMES) and not request.url.startswith(self.origin + "/"):
            if not (self.allowed_navigation and request.is_navigation_request()
                    and request.url.startswith(self.allowed_navigation + "/")):
                self.foreign_requests.append(request.url)
        elif request.url.startswith(self.origin + "/api/") and "x-requested-with" not in request.headers:
            self.unmarked_api_calls.append(f"{request.method} {request.url}")

    async def shot(self, name: str) -> Path:
        self._shot += 1
        path = self.shots / f"{self._shot:02d}-{name}.png"
        await self.page.screenshot(path=path, full_page=True)
        return path

    async def transferred_bytes(self) -> int:
        """The bodies of every response so far, uncompressed, as the browser received them."""
        total = 0
        for response in self.responses:
            if response.request.method != "HEAD" and response.status != 204:
                total += len(await response.body())
        return total

    async def follow_statuses(self) -> None:
        """Keep every status line the page shows, to check the states it went through (`seen_statuses`)."""
        await self.page.evaluate("""() => {
            window.seenStatuses = [];
            new MutationObserver(() => {
                for (const node of document.querySelectorAll('[data-testid=status]')) {
                    if (window.seenStatuses.at(-1) !== node.textContent) window.seenStatuses.push(node.textContent);
                }
            }).observe(document.body, {subtree: true, childList: true, characterData: true});
        }""")

    async def seen_statuses(self) -> list[str]:
        return await self.page.evaluate("() => window.seenStatuses")

    def assert_clean(self) -> None:
        assert not self.console_errors, self.console_errors
        assert not self.foreign_requests, self.foreign_requests
        assert not self.unmarked_api_calls, self.unmarked_api_calls
