"""Chromium conversions through the running server: the plugin's pool registered for its converters, options from
the query string, zipped sites and Markdown chosen by their bytes, refused options, URL conversion off by default,
and an endless script answered with 504 while the next conversion still works."""

from __future__ import annotations

import io
import subprocess

import pytest
from PIL import Image
from pypdf import PdfReader

from chromium_samples import WORD, write_site_zip


@pytest.fixture
def anclora_overrides():
    return {"chromium_pool_size": 1, "job_timeout": 8.0}


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


async def test_html_becomes_pdf_on_the_server_pool_with_query_options(client, anclora_ctx):
    pool = anclora_ctx.engine_pools.for_converter("chromium_pdf")["chromium_pool"]
    assert not pool.browsers  # nothing runs before the first page
    page = f"<!doctype html><html><body><h1>{WORD} report</h1></body></html>".encode()
    response = await client.post("/api/convert?to=pdf&filename=report.html&paper=Letter&landscape=true",
                                 content=page)
    assert response.status_code == 200, response.text
    assert f"{WORD} report" in pdf_text(response.content)
    [size] = [(round(float(p.mediabox.width)), round(float(p.mediabox.height)))
              for p in PdfReader(io.BytesIO(response.content)).pages]
    assert size == (792, 612)
    assert [browser.renders for browser in pool.browsers.values()] == [1]
    metrics = (await client.get("/api/metrics")).text
    assert 'anclora_engine_pool_instances{engine="chromium",state="idle"} 1.0' in metrics


async def test_markdown_and_zipped_sites_go_straight_to_chromium(client, anclora_ctx, tmp_path):
    response = await client.post("/api/convert?to=pdf&filename=notes.md", content=b"# Notes\n\nIn *Markdown*.\n")
    assert response.status_code == 200, response.text
    assert "In Markdown" in pdf_text(response.content)
    site = write_site_zip(tmp_path / "site.zip").read_bytes()
    response = await client.post("/api/convert?to=png&filename=site.zip&width=320&height=200", content=site)
    assert response.status_code == 200, response.text
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "PNG" and image.size == (320, 200)
        assert image.convert("RGB").getpixel((300, 190)) == (255, 0, 0)  # the zip's stylesheet applied
    formats = (await client.get("/api/formats")).json()["conversions"]
    direct = {(entry["from"], entry["to"]): entry for entry in formats if not entry["via"]}
    assert direct[("md", "pdf")]["converter"] == "chromium_pdf"
    assert direct[("htmlzip", "png")]["converter"] == "chromium_screenshot"
    assert direct[("url", "pdf")]["converter"] == "chromium_url"
    assert direct[("url", "png")]["converter"] == "chromium_url_screenshot"


@pytest.mark.parametrize("query", ["to=png&landscape=true", "to=pdf&paper=B9", "to=pdf&margin_top=1km",
                                   "to=pdf&scale=5"])
async def test_options_the_converter_does_not_have_are_refused(query, client, anclora_ctx):
    response = await client.post(f"/api/convert?{query}&filename=page.html", content=b"<html><p>x</p></html>")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    pool = anclora_ctx.engine_pools.for_converter("chromium_pdf")["chromium_pool"]
    assert not pool.browsers  # refused before any browser started


async def test_url_conversion_is_off_by_default(client, anclora_ctx):
    response = await client.post("/api/convert?to=pdf&filename=site.url", content=b"https://example.com/\n")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "conversion_failed"
    assert "not enabled" in response.json()["error"]["message"]


async def test_an_endless_script_is_a_504_and_the_next_page_converts(client, anclora_ctx):
    pool = anclora_ctx.engine_pools.for_converter("chromium_pdf")["chromium_pool"]
    response = await client.post("/api/convert?to=pdf&filename=loop.html",
                                 content=b"<html><body><script>while (true) {}</script></body></html>")
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "conversion_timeout"
    assert pool.replacements == 1
    response = await client.post("/api/convert?to=pdf&filename=ok.html", content=f"<p>{WORD} again</p>".encode())
    assert response.status_code == 200, response.text
    assert f"{WORD} again" in pdf_text(response.content)
