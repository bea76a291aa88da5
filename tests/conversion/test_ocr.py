"""OCR through the running server: scanned images and PDFs get a text layer `pdftotext` reads, `ocr: true` picks the
OCR converter beside `images` and `pdf_pages`, pages with text are kept unless `force`, progress comes per page;
hostile input (an image bomb, garbage and encrypted PDFs) is refused with a clean 422 before OCRmyPDF runs."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest

from anclora.engines import ocrmypdf
from media_samples import bundled_converters
from ocr_samples import SCAN_WORDS, write_png_bomb, write_scan_png, write_scanned_pdf
from samples import write_encrypted_pdf, write_huge_page_pdf, write_pdf, write_truncated_pdf


@pytest.fixture
def anclora_overrides():
    return {"office_pool_size": 1}


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def image_count(data: bytes, tmp_path) -> int:
    path = tmp_path / "images.pdf"
    path.write_bytes(data)
    listed = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    return len(listed.splitlines()) - 2  # two header lines


def words(text: str) -> str:
    return " ".join(text.split())


async def convert(client, name: str, data: bytes, query: str):
    return await client.post(f"/api/convert?to=pdf&filename={name}&{query}", content=data)


async def test_a_scanned_image_becomes_a_pdf_whose_words_pdftotext_finds(client, anclora_ctx, tmp_path):
    scan = write_scan_png(tmp_path / "scan.png").read_bytes()
    response = await convert(client, "scan.png", scan, "ocr=true&languages=eng,spa")
    assert response.status_code == 200, response.text
    text = words(pdf_text(response.content))
    assert all(line in text for line in SCAN_WORDS), text

    plain = await convert(client, "scan.png", scan, "")  # without `ocr`, images still makes a picture PDF
    assert plain.status_code == 200 and words(pdf_text(plain.content)) == ""

    routes = (await client.get("/api/formats")).json()["conversions"]
    ocr_route = next(r for r in routes if (r["from"], r["to"], r["converter"]) == ("pdf", "pdf", "ocr"))
    assert set(ocr_route["options"]["properties"]["languages"]["items"]["enum"]) >= {"eng", "spa", "deu", "fra"}


async def test_ocr_true_picks_the_ocr_converter_for_pdf_to_pdf_and_json_options_reach_it(client, anclora_ctx,
                                                                                          tmp_path):
    planner = anclora_ctx.planner
    assert planner.route("pdf", "pdf").name == "pdf_pages"
    assert planner.route("pdf", "pdf", {"ocr": True}).name == "ocr"
    assert planner.route("png", "pdf", {"quality": 80}).name == "images"

    scanned = write_scanned_pdf(tmp_path / "scanned.pdf", [SCAN_WORDS]).read_bytes()
    upload = await client.post("/api/files?filename=scanned.pdf", content=scanned)
    body = {"file_id": upload.json()["id"], "to": "pdf",
            "options": {"ocr": True, "languages": ["eng"], "deskew": True, "rotate_pages": True}}
    created = await client.post("/api/conversions", json=body)
    assert created.status_code == 202, created.text
    assert created.json()["converter"] == "ocr"
    job = created.json()
    deadline = time.monotonic() + 120
    while job["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.1)
        job = (await client.get(f"/api/conversions/{job['id']}")).json()
    assert job["status"] == "succeeded", job
    result = await client.get(f"/api/files/{job['result_file_id']}/content")
    assert "Invoice number 4711" in words(pdf_text(result.content))

    refused = await client.post("/api/conversions", json={**body, "options": {"ocr": True, "languages": ["xx"]}})
    assert refused.status_code == 400  # a language not installed here is named by the schema
    both = await client.post("/api/conversions", json={**body, "options": {"ocr": True, "force": True,
                                                                           "redo": True}})
    assert both.status_code == 400


async def test_pages_with_text_are_kept_unless_force(client, anclora_ctx, tmp_path):
    typed = write_pdf(tmp_path / "typed.pdf", ["Typed words stay text"]).read_bytes()
    kept = await convert(client, "typed.pdf", typed, "ocr=true")
    assert kept.status_code == 200, kept.text
    assert words(pdf_text(kept.content)) == "Typed words stay text"
    assert image_count(kept.content, tmp_path) == 0  # the page was left as it was

    forced = await convert(client, "typed.pdf", typed, "ocr=true&force=true")
    assert forced.status_code == 200, forced.text
    assert image_count(forced.content, tmp_path) == 1  # rasterised, with OCR's text over it
    assert "Typed words stay text" in words(pdf_text(forced.content))


@pytest.mark.backend_independent
async def test_progress_is_reported_page_by_page(convert_file, tmp_path):
    pages = [(f"Page number {n}", "Scanned for the progress test") for n in range(1, 4)]
    scanned = write_scanned_pdf(tmp_path / "three.pdf", pages)
    seen: list[int] = []
    output = await convert_file(bundled_converters()["ocr"], scanned, "pdf", {"ocr": True}, report=seen.append)
    text = words(pdf_text(output.read_bytes()))
    assert all(f"Page number {n}" in text for n in range(1, 4)), text
    between = [value for value in seen if 5 < value < 100]
    assert len(between) >= 3, seen  # each page rendered and grafted moves it on
    assert seen == sorted(seen)


async def test_an_image_bomb_is_refused_before_ocr_within_bounded_time(client, anclora_ctx, tmp_path):
    bomb = write_png_bomb(tmp_path / "bomb.png").read_bytes()
    assert len(bomb) < 10_000
    started = time.monotonic()
    response = await convert(client, "bomb.png", bomb, "ocr=true")
    assert time.monotonic() - started < 30
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "conversion_failed"
    assert "megapixels" in error["message"] and "not OCRed" in error["message"]


def write_garbage_pdf(path):
    path.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 500 + b"\n%%EOF\n")
    return path


@pytest.mark.parametrize("make", [write_garbage_pdf, write_truncated_pdf, write_encrypted_pdf, write_huge_page_pdf])
async def test_hostile_pdfs_get_a_clean_422(client, anclora_ctx, tmp_path, make):
    data = make(tmp_path / "hostile.pdf").read_bytes()
    response = await convert(client, "hostile.pdf", data, "ocr=true")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "conversion_failed"
    assert error["message"] == "This PDF cannot be processed."  # the PDF checks' refusal, before OCRmyPDF
    markdown = await client.post("/api/convert?to=md&filename=hostile.pdf&ocr=true", content=data)
    assert markdown.status_code == 422 and markdown.json()["error"]["code"] == "conversion_failed"


@pytest.mark.backend_independent
def test_ocrmypdf_is_told_what_was_asked(tmp_path):
    command = ocrmypdf.argv(tmp_path / "in.pdf", tmp_path / "out.pdf",
                            ocrmypdf.Ocr(languages=("eng", "deu"), deskew=True, existing="redo"), pdfa="3b")
    assert command[command.index("-l") + 1] == "eng+deu"
    assert "--redo-ocr" in command and "--deskew" in command and "--skip-text" not in command
    assert command[command.index("--output-type") + 1] == "pdfa-3"
