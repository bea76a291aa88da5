"""Fixtures of the web page's tests: Chromium (Debian's, never a downloaded one) on a live server."""

from __future__ import annotations

import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, WatchedPage
from playwright.async_api import async_playwright, expect

expect.set_options(timeout=30_000)  # a deadline for each awaited state, generous on a shared, loaded machine


@pytest.fixture
async def browser():
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def open_page(browser, tmp_path):
    """`await open_page(base_url, locale=..., color_scheme=...)` -> a WatchedPage on the page at `/`, whose
    console errors and requests to other origins fail the test at its end; screenshots go to tmp_path/shots."""
    watched: list[WatchedPage] = []
    shots = tmp_path / "shots"
    shots.mkdir()

    async def open_(base_url: str, locale: str = "en-GB", color_scheme: str = "light") -> WatchedPage:
        context = await browser.new_context(locale=locale, color_scheme=color_scheme, accept_downloads=True,
                                            viewport={"width": 1100, "height": 900})
        page = WatchedPage(await context.new_page(), base_url, shots)
        page.page.set_default_timeout(60_000)
        watched.append(page)
        await page.page.goto(base_url + "/", wait_until="networkidle")
        return page

    yield open_
    for page in watched:
        page.assert_clean()
