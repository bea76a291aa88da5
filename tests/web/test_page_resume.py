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
    stored = await page.evaluate("id => fetch('/api/files/' + id).then(r => r.json())", file_id)
    assert stored["size"] == SIZE
    assert stored["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()
