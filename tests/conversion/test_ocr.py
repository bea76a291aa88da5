"""OCR through the running server: scanned images and PDFs get a text layer `pdftotext` reads, `ocr: true` picks the
OCR converter beside `images` and `pdf_pages`, pages with text are kept unless `force`, `rotate_pages` turns an
upside-down scan upright and `deskew` straightens a crooked one, progress comes per page; hostile input (an image
bomb, garbage and encrypted PDFs) is refused with a clean 422 before OCRmyPDF runs."""

from __future__ import annotations

import asyncio
import difflib
import io
import subprocess
import time

import pytest
from PIL import Image, ImageChops, ImageStat

from anclora.engines import ocrmypdf
from media_samples import bundled_converters
from ocr_samples import LETTER, SCAN_WORDS, letter_page, write_png_bomb, write_scan_png, write_scanned_pdf
from samples import write_encrypted_pdf, write_huge_page_pdf, write_pdf, write_truncated_pdf


@pytest.fixture
def anclora_overrides():
    return {"office_pool_size": 1}


def pdf_text(data: bytes, *flags: str) -> str:
    return subprocess.run(["pdftotext", *flags, "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


def image_count(data: bytes, tmp_path) -> int:
    path = tmp_path / "images.pdf"
    path.write_bytes(data)
    listed = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    return len(listed.splitlines()) - 2  # two header lines


def words(text: str) -> str:
    return " ".join(text.split())


def png_of(image: Image.Image, dpi: int = 150) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(dpi, dpi))
    return out.getvalue()


def reading_order_match(data: bytes) -> float:
    """How much of LETTER's words `pdftotext` reads from the PDF in their order (1.0: all of them)."""
    found = pdf_text(data, "-raw").split()
    return difflib.SequenceMatcher(None, " ".join(LETTER).split(), found, autojunk=False).ratio()


def rendered(data: bytes) -> Image.Image:
    """The first page as a viewer shows it (poppler, honouring /Rotate and the content's own transforms)."""
    png = subprocess.run(["pdftoppm", "-r", "30", "-gray", "-png", "-singlefile", "-"], input=data,
                         capture_output=True, check=True).stdout
    return Image.open(io.BytesIO(png)).convert("L")


def distance(shown: Image.Image, page: Image.Image) -> float:
    return ImageStat.Stat(ImageChops.difference(shown, page.resize(shown.size, Image.BOX))).mean[0]


def page_image(data: bytes, tmp_path) -> Image.Image:
    (tmp_path / "page.pdf").write_bytes(data)
    subprocess.run(["pdfimages", "-png", "-f", "1", "-l", "1", str(tmp_path / "page.pdf"), str(tmp_path / "img")],
                   check=True)
    return Image.open(tmp_path / "img-000.png")


def line_sharpness(image: Image.Image) -> float:
    """How sharply the dark pixels gather into rows (the squared coefficient of variation of each row's ink):
    horizontal text lines alternate full and blank rows; skewed ones smear their ink over many rows."""
    ink = image.convert("L").point(lambda value: 255 if value < 128 else 0)
    rows = list(ink.resize((1, ink.height), Image.BOX).tobytes())
    mean = sum(rows) / len(rows)
    return sum((row - mean) ** 2 for row in rows) / len(rows) / mean**2


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


async def test_rotate_pages_turns_an_upside_down_scan_upright(client, anclora_ctx):
    page = letter_page(size=40)  # a large font: Tesseract's orientation guess must pass OCRmyPDF's threshold
    upside_down = png_of(page.rotate(180))
    turned = await convert(client, "letter.png", upside_down, "ocr=true&rotate_pages=true")
    assert turned.status_code == 200, turned.text
    as_is = await convert(client, "letter.png", upside_down, "ocr=true")
    assert as_is.status_code == 200, as_is.text

    shown = rendered(turned.content)
    assert distance(shown, page) * 2 < distance(shown, page.rotate(180))  # the viewer shows it upright
    assert reading_order_match(turned.content) > 0.9
    shown = rendered(as_is.content)
    assert distance(shown, page.rotate(180)) * 1.5 < distance(shown, page)  # left upside down without the option
    assert reading_order_match(as_is.content) < 0.3  # Tesseract read it upside down: garbled


async def test_deskew_straightens_a_crooked_scan(client, anclora_ctx, tmp_path):
    page = letter_page(size=28)
    crooked = page.rotate(3, expand=True, fillcolor=250, resample=Image.BICUBIC)
    response = await convert(client, "letter.png", png_of(crooked), "ocr=true&deskew=true")
    assert response.status_code == 200, response.text
    straightened = line_sharpness(page_image(response.content, tmp_path))
    assert straightened > 2 * line_sharpness(crooked), (straightened, line_sharpness(crooked))
    assert straightened > 0.8 * line_sharpness(page)  # about as level as the page before it was turned
    assert reading_order_match(response.content) > 0.9


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


REFUSED = ("conversion_failed", "This PDF cannot be processed.")  # the PDF checks' refusal, before OCRmyPDF
LOCKED = ("password_required", "This PDF is protected by a password: open it first with the `password` option of "
                               "the pdf → pdf conversion (`pdf_pages`).")


@pytest.mark.parametrize("make, refusal", [(write_garbage_pdf, REFUSED), (write_truncated_pdf, REFUSED),
                                           (write_encrypted_pdf, LOCKED), (write_huge_page_pdf, REFUSED)])
async def test_hostile_pdfs_get_a_clean_422(client, anclora_ctx, tmp_path, make, refusal):
    data = make(tmp_path / "hostile.pdf").read_bytes()
    response = await convert(client, "hostile.pdf", data, "ocr=true")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["message"]) == refusal
    markdown = await client.post("/api/convert?to=md&filename=hostile.pdf&ocr=true", content=data)
    assert markdown.status_code == 422 and markdown.json()["error"]["code"] == refusal[0]


@pytest.mark.backend_independent
def test_ocrmypdf_is_told_what_was_asked(tmp_path):
    command = ocrmypdf.argv(tmp_path / "in.pdf", tmp_path / "out.pdf",
                            ocrmypdf.Ocr(languages=("eng", "deu"), deskew=True, existing="redo"), pdfa="3b")
    assert command[command.index("-l") + 1] == "eng+deu"
    assert "--redo-ocr" in command and "--deskew" in command and "--skip-text" not in command
    assert command[command.index("--output-type") + 1] == "pdfa-3"
