"""The warm Chromium pool: sandboxed browsers, one context per page, recycled by count and memory, replaced when they
die, nothing left behind when closed."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
import pytest_asyncio

from anclora.engines.chromium_pool import ChromiumPool, PageRun
from anclora.engines.chromium_render import PageJob
from anclora.engines.office_pool import group_processes
from anclora.metrics import Metrics
from chromium_samples import site_of, WORD, pdf_text, write_html

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.backend_independent]  # no database, no Redis

RECYCLE_AFTER = 3


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool():
    async with ChromiumPool(size=2, recycle_after=RECYCLE_AFTER, metrics=Metrics()) as pool:
        await pool.start()
        yield pool


@pytest.fixture
def site(tmp_path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    write_html(folder / "index.html", f"<!doctype html><html><body><p>{WORD} in the pool</p>"
                                      "<script>document.cookie = 'seen=' + (document.cookie || 'first');</script>"
                                      "<p id=c></p><script>document.getElementById('c').textContent = "
                                      "'COOKIE[' + document.cookie + ']';</script></body></html>")
    return folder


async def render(pool: ChromiumPool, site: Path, name: str, timeout: float = 60) -> tuple[PageRun, str]:
    job = PageJob(*site_of(site), site.parent / name, "pdf")
    run = await pool.render(job, timeout)
    return run, pdf_text(job.dst)


def gauge(pool: ChromiumPool, state: str) -> float:
    return pool.metrics.registry.get_sample_value("anclora_engine_pool_instances",
                                                  {"engine": "chromium", "state": state})


async def test_concurrent_pages_use_different_browsers_and_share_nothing(pool, site):
    await pool.start()
    assert gauge(pool, "idle") == 2 and gauge(pool, "busy") == 0
    (first, first_text), (second, second_text) = await asyncio.gather(render(pool, site, "a.pdf"),
                                                                      render(pool, site, "b.pdf"))
    assert first.pgid != second.pgid
    _, again = await render(pool, site, "c.pdf")
    for text in (first_text, second_text, again):
        assert f"{WORD} in the pool" in text
        assert "COOKIE[seen=first]" in text  # each page has a fresh context: no cookie from the page before


async def test_browsers_run_without_network_and_without_our_environment(pool):
    await pool.start()
    for browser in pool.browsers.values():
        assert os.readlink(f"/proc/{browser.pgid}/ns/net") != os.readlink("/proc/self/ns/net")
        environment = Path(f"/proc/{browser.pgid}/environ").read_bytes().split(b"\0")
        assert "PYTEST_CURRENT_TEST" in os.environ
        leaked = (b"PYTEST_CURRENT_TEST=", b"VIRTUAL_ENV=", b"DATABASE_URL=")
        assert not any(entry.startswith(leaked) for entry in environment)
        assert "chromium" in Path(f"/proc/{browser.pgid}/cmdline").read_text()


async def test_a_browser_is_recycled_after_n_pages(pool, site):
    await pool.start()
    runs = [(await render(pool, site, f"r{n}.pdf"))[0] for n in range(2 * RECYCLE_AFTER + 2)]
    by_browser: dict[int, list[PageRun]] = {}
    for run in runs:
        by_browser.setdefault(run.browser, []).append(run)
    recycled = [history for history in by_browser.values() if len({run.pgid for run in history}) > 1]
    assert recycled, "no browser was recycled"
    for history in recycled:
        assert len([run for run in history if run.pgid == history[0].pgid]) <= RECYCLE_AFTER
        assert group_processes(history[0].pgid) == {}  # the old browser's processes are all gone


async def test_a_browser_over_the_memory_threshold_is_recycled(pool, site):
    await pool.start()
    pool.max_memory_bytes = 1  # every browser is over it after its next page
    try:
        run, _ = await render(pool, site, "m.pdf")
    finally:
        pool.max_memory_bytes = 1024 * 2**20
    await pool.start()
    assert pool.browsers[run.browser].pgid != run.pgid
    assert group_processes(run.pgid) == {}


async def test_a_killed_browser_is_replaced_and_the_next_page_renders(pool, site):
    await pool.start()
    victims = {browser.pgid for browser in pool.browsers.values()}
    for pgid in victims:
        os.kill(pgid, signal.SIGKILL)
    run, text = await render(pool, site, "k.pdf")
    assert run.pgid not in victims and f"{WORD} in the pool" in text
    for pgid in victims:
        assert group_processes(pgid) == {}


async def test_close_leaves_nothing_behind(site):
    pool = ChromiumPool(size=1)
    run, _ = await render(pool, site, "z.pdf")
    browser = pool.browsers[run.browser]
    await pool.close()
    assert group_processes(run.pgid) == {}
    assert not browser.folder.exists() and not pool.root.exists()
