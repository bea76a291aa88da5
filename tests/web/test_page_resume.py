"""The web page's upload survives a connection cut in the middle of the body: it asks the server where the upload
got to and sends the rest, and the stored file is the whole of what was picked."""

from __future__ import annotations

import hashlib
import os
import re
from urllib.parse import urlsplit

import pytest
from cutting_proxy import CuttingProxy
from playwright.async_api import expect

SIZE = 60 * 1024 * 1024
MiB = 1024 * 1024


@pytest.fixture
def anclora_overrides():
    return {"plan_limits": {"anonymous": {"max_upload_bytes": 100 * MiB}}}


@pytest.fixture
async def proxy(anclora_server):
    cutter = CuttingProxy(urlsplit(anclora_server).port, cut_after=20 * MiB)
    url = await cutter.start()
    yield cutter, url
    await cutter.stop()


async def test_a_60_mb_upload_cut_midway_resumes_and_completes(proxy, open_page, tmp_path):
    cutter, url = proxy
    big = tmp_path / "recording.bin"
    big.write_bytes(os.urandom(SIZE))
    watched = await open_page(url)
    # After the cut the server may still be settling the cut request for a moment: a PATCH then is refused
    # with 409 and the page asks again.
    watched.expect_failure("/api/uploads/", 409)
    for cut in ("ERR_CONNECTION_RESET", "ERR_EMPTY_RESPONSE", "ERR_CONNECTION_CLOSED"):  # the cut, as Chromium logs it
        watched.expect_failure("/api/uploads/", cut)
    page = watched.page
    await watched.follow_statuses()

    await page.get_by_test_id("file-input").set_input_files(big)
    card = page.locator("li.card")
    await expect(card).to_have_attribute("data-file-id", re.compile(r"[0-9a-f-]{36}"), timeout=120_000)
    await expect(page.get_by_test_id("progress")).to_have_attribute("value", "100")
    await watched.shot("uploaded-after-a-cut")

    assert cutter.cuts == 1
    assert cutter.patch_offsets[0] == 0 and len(cutter.patch_offsets) >= 2
    assert 0 < cutter.patch_offsets[-1] < SIZE  # the rest only, from where the server got to
    assert "Connection lost; resuming…" in await watched.seen_statuses()

    file_id = await card.get_attribute("data-file-id")
    stored = await (await page.request.get(f"{url}/api/files/{file_id}")).json()  # with the page's cookie
    assert stored["size"] == SIZE
    assert stored["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()


async def test_a_file_over_the_limit_is_refused_in_plain_words(anclora_server, open_page, tmp_path):
    watched = await open_page(anclora_server)
    watched.expect_failure("/api/uploads/", 413)
    too_big = tmp_path / "too-big.bin"
    with too_big.open("wb") as sparse:
        sparse.truncate(101 * MiB)  # nothing is sent: the size alone is refused
    await watched.page.get_by_test_id("file-input").set_input_files(too_big)
    await expect(watched.page.get_by_test_id("status")).to_have_text(
        "This file is larger than your limit of 100 MB. Sign in, or raise your plan, to send bigger files "
        "(the server's administrator sets the limits).")
    await watched.shot("over-the-limit")
