"""Gotenberg's status codes for our limits: 413 past the upload limit, 503 past the time limit (the job is
canceled and nothing is kept); with the plugin blocked the routes are gone."""

from __future__ import annotations

import asyncio
import time

import pytest
from gotenberg_samples import write_docx, write_pdf
from storage_state import stored_keys
from test_gotenberg_fields import post_form


@pytest.fixture
def anclora_overrides(request):
    return {"office_pool_size": 1, "max_content_length": 8192, "sync_timeout": 0.3,
            **getattr(request, "param", {})}


async def test_a_body_over_the_limit_is_413(client, tmp_path):
    big = write_pdf(tmp_path / "big.pdf", 200, side=300)
    response = await post_form(client, "pdfengines/merge", [big])
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert "8192 bytes" in response.text


async def test_past_the_time_limit_is_503_and_nothing_is_kept(client, anclora_ctx, tmp_path):
    docx = write_docx(tmp_path / "slow.docx")  # LibreOffice starts cold: far longer than 0.3 s
    response = await post_form(client, "libreoffice/convert", [docx])
    assert response.status_code == 503
    assert response.text.startswith("The request exceeded the time limit.")
    deadline = time.monotonic() + 30  # the canceled job's engine is stopped, its folder removed
    while await stored_keys(anclora_ctx) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert await stored_keys(anclora_ctx) == []


@pytest.mark.parametrize("anclora_overrides", [{"plugins_block": ["gotenberg"]}], indirect=True)
async def test_blocking_the_plugin_removes_the_routes(client, tmp_path):
    pdf = write_pdf(tmp_path / "a.pdf", 1, side=300)
    response = await post_form(client, "pdfengines/merge", [pdf])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert (await client.get("/health")).status_code == 404
    assert (await client.get("/api/health")).status_code != 404  # the rest of the API stays
