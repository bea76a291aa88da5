"""The page's uploads are scanned like any other: an infected file, or a scanner that does not answer, is told in
plain words, the page does not try again, and nothing is kept."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from playwright.async_api import expect

sys.path.insert(0, str(Path(__file__).parent.parent / "scanning"))  # (the tests' own clamd)
from clamd_process import EICAR, ClamdProcess  # noqa: E402


@pytest.fixture(scope="module")
def page_clamd(tmp_path_factory):
    process = ClamdProcess(tmp_path_factory.mktemp("page-clamd")).start()
    yield process
    process.stop()


@pytest.fixture
def anclora_overrides(page_clamd):
    return {"clamd_socket": str(page_clamd.socket)}


async def pick(watched, tmp_path, name: str, data: bytes) -> None:
    sample = tmp_path / name
    sample.write_bytes(data)
    await watched.page.get_by_test_id("file-input").set_input_files(sample)


async def test_an_infected_file_is_refused_by_name(anclora_server, open_page, anclora_ctx, tmp_path):
    watched = await open_page(anclora_server)
    watched.expect_failure("/api/uploads/", 422)
    await pick(watched, tmp_path, "eicar.txt", EICAR)
    await expect(watched.page.get_by_test_id("status")).to_have_text(
        "The virus scanner found Anclora-Test.EICAR.UNOFFICIAL in this file; it was not kept.")
    await watched.shot("infected")
    assert await anclora_ctx.storage.inventory() == {} and await anclora_ctx.storage.parts() == []


async def test_a_scanner_that_does_not_answer_is_said_so_at_once(anclora_server, open_page, page_clamd, tmp_path):
    watched = await open_page(anclora_server)
    watched.expect_failure("/api/uploads/", 503)
    await watched.follow_statuses()
    page_clamd.kill()
    try:
        await pick(watched, tmp_path, "notes.txt", b"nothing to see\n" * 50)
        await expect(watched.page.get_by_test_id("status")).to_have_text(
            "The virus scanner is not answering, so the file was not kept; try again shortly.")
        assert "Connection lost; resuming…" not in await watched.seen_statuses()
    finally:
        page_clamd.start()
