"""Gotenberg's Chromium routes through gotenberg-client, unchanged, against a live server: HTML with its assets,
Markdown templates, screenshots, Gotenberg's page fields and defaults, header and footer files, and the fields and
addresses this server refuses."""

from __future__ import annotations

import io
import subprocess

import pytest
from gotenberg_client._errors import HttpStatusError
from gotenberg_client.options import Measurement, MeasurementUnitType, PageMarginsType, PageOrientation, PageSize
from PIL import Image
from pypdf import PdfReader

INDEX = ('<!doctype html><html><head><link rel="stylesheet" href="style.css"></head><body>'
         '<h1 class="t">Gotenberg page</h1><p>Second paragraph</p></body></html>')


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def size_of(data: bytes) -> tuple[int, int]:
    page = PdfReader(io.BytesIO(data)).pages[0]
    return round(float(page.mediabox.width)), round(float(page.mediabox.height))


@pytest.fixture
def site(tmp_path):
    (tmp_path / "index.html").write_text(INDEX, encoding="utf-8")
    (tmp_path / "style.css").write_text(".t { text-transform: uppercase; }", encoding="utf-8")
    (tmp_path / "header.html").write_text('<div style="font-size: 10px">HEADERLINE</div>', encoding="utf-8")
    return tmp_path


async def test_html_with_its_stylesheet_on_gotenbergs_letter_paper(gotenberg, site):
    async with gotenberg.chromium.html_to_pdf() as route:
        response = await route.index(site / "index.html").resource(site / "style.css").run()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert "GOTENBERG PAGE" in pdf_text(response.content)  # the stylesheet was there
    width, height = size_of(response.content)
    assert abs(width - 612) <= 1 and abs(height - 792) <= 1  # Gotenberg's default: Letter


async def test_page_fields_and_a_header_file(gotenberg, site):
    a5 = PageSize(width=Measurement(148, MeasurementUnitType.Millimeters),
                  height=Measurement(210, MeasurementUnitType.Millimeters))
    margins = PageMarginsType(top=Measurement(2, MeasurementUnitType.Centimeters))
    async with gotenberg.chromium.html_to_pdf() as route:
        response = await (route.index(site / "index.html").resource(site / "style.css").header(site / "header.html")
                          .size(a5).margins(margins).orient(PageOrientation.Landscape).run())
    assert response.status_code == 200, response.text
    width, height = size_of(response.content)
    assert abs(width - 595) <= 1 and abs(height - 420) <= 1
    assert "HEADERLINE" in pdf_text(response.content)


async def test_markdown_files_in_an_index_template(gotenberg, tmp_path):
    (tmp_path / "index.html").write_text('<html><body><main>{{ toHTML "notes.md" }}</main></body></html>')
    (tmp_path / "notes.md").write_text("# Notes heading\n\n* one *point*\n")
    async with gotenberg.chromium.markdown_to_pdf() as route:
        response = await route.index(tmp_path / "index.html").markdown_file(tmp_path / "notes.md").run()
    assert response.status_code == 200, response.text
    text = pdf_text(response.content)
    assert "Notes heading" in text and "one point" in text and "toHTML" not in text


async def test_screenshots_of_html(gotenberg, site):
    async with gotenberg.chromium.screenshot_html() as route:
        png = await route.index(site / "index.html").width(640).height(400).clip_to_dimensions().run()
    assert png.status_code == 200, png.text
    with Image.open(io.BytesIO(png.content)) as image:
        assert image.format == "PNG" and image.size == (640, 400)
    async with gotenberg.chromium.screenshot_html() as route:
        jpeg = await route.index(site / "index.html").output_format("jpeg").quality(50).run()
    with Image.open(io.BytesIO(jpeg.content)) as image:
        assert image.format == "JPEG" and image.width == 800  # Gotenberg's default width


async def refused(route) -> tuple[int, str]:
    """The status and text of a request the server refuses (gotenberg-client raises on any 4xx)."""
    with pytest.raises(HttpStatusError) as refusal:
        await route.run()
    return refusal.value.response.status_code, refusal.value.response.content.decode()


async def test_what_this_server_refuses(gotenberg, site):
    async with gotenberg.chromium.html_to_pdf() as route:
        omitted = await refused(route.index(site / "index.html").hide_background())
    assert omitted == (400, "Invalid form data: form field 'omitBackground' is not supported by this server.")
    async with gotenberg.chromium.screenshot_html() as route:
        status, text = await refused(route.index(site / "index.html").output_format("webp"))
    assert status == 400 and "'format' is invalid" in text and "webp" in text
    async with gotenberg.chromium.html_to_pdf() as route:
        no_index = await refused(route.resource(site / "style.css"))
    assert no_index == (400, "Invalid form data: form file 'index.html' is required")
    async with gotenberg.chromium.html_to_pdf() as route:
        status, text = await refused(route.index(site / "index.html").scale(7))
    assert status == 400 and "form field 'scale' is invalid" in text


async def test_urls_are_off_without_an_allowlist(gotenberg):
    async with gotenberg.chromium.url_to_pdf() as route:
        status, text = await refused(route.url("http://127.0.0.1:9/"))
    assert status == 400 and "not enabled" in text
