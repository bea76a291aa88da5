"""The PDF converters: pages to images, text and HTML with poppler; select, split, rotate and merge with pypdf; and
the PDFs they refuse (page-count bombs, huge pages, stream bombs, giant images, encrypted, truncated, garbage)."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from anclora.errors import ConversionFailed
from anclora.sniff import sniff
from media_samples import bundled_converters
from samples import (write_encrypted_pdf, write_giant_image_pdf, write_huge_page_pdf, write_page_count_bomb,
                     write_pdf, write_pdf_zip, write_shared_content_pdf, write_stream_bomb_pdf,
                     write_truncated_pdf)

CONVERTERS = {name: bundled_converters()[name]
              for name in ("pdf_to_image", "pdf_to_images", "pdf_to_text", "pdf_pages", "pdf_merge")}
PAIRS = sorted((name, source, target) for name, converter in CONVERTERS.items()
               for source, target in converter.pairs())
PAGES = ["Page one", "Page two", "Page three"]


@pytest.fixture(scope="module")
def three_pages(tmp_path_factory) -> Path:
    return write_pdf(tmp_path_factory.mktemp("pdf") / "three.pdf", PAGES)


@pytest.fixture(scope="module")
def pdf_zip(tmp_path_factory, three_pages) -> Path:
    folder = tmp_path_factory.mktemp("pdf-zip")
    second = write_pdf(folder / "second.pdf", ["Appendix"])
    return write_pdf_zip(folder / "bundle.zip", {"a/first.pdf": three_pages, "b/second.pdf": second},
                         extra={"README.txt": b"not a pdf"})


@pytest.mark.parametrize("name,source,target", PAIRS)
async def test_every_advertised_pair_converts(name, source, target, three_pages, pdf_zip, convert_file):
    src = pdf_zip if source == "zip" else three_pages
    output = await convert_file(CONVERTERS[name], src, target)
    assert sniff(output, target) == target


async def test_one_page_becomes_an_image_at_the_asked_resolution(three_pages, convert_file):
    output = await convert_file(CONVERTERS["pdf_to_image"], three_pages, "png", {"page": 2, "dpi": 72})
    with Image.open(output) as image:
        assert image.size == (612, 792)  # points at 72 dpi


async def test_several_pages_become_a_zip_of_images(three_pages, convert_file):
    output = await convert_file(CONVERTERS["pdf_to_images"], three_pages, "zip",
                                {"pages": "1,3", "dpi": 36, "image_format": "jpeg"})
    with zipfile.ZipFile(output) as archive:
        assert archive.namelist() == ["page-0001.jpeg", "page-0003.jpeg"]
        with Image.open(io.BytesIO(archive.read("page-0003.jpeg"))) as image:
            assert image.format == "JPEG" and image.size == (306, 396)


async def test_text_and_html_hold_the_words_of_every_page(three_pages, convert_file):
    text = (await convert_file(CONVERTERS["pdf_to_text"], three_pages, "txt")).read_text(encoding="utf-8")
    html = (await convert_file(CONVERTERS["pdf_to_text"], three_pages, "html")).read_text(encoding="utf-8")
    for page in PAGES:
        assert page in text and page in html


async def test_split_keeps_the_asked_pages_in_order(three_pages, convert_file):
    output = await convert_file(CONVERTERS["pdf_pages"], three_pages, "pdf", {"pages": "3,1-2"})
    reader = PdfReader(output)
    assert [page.extract_text().strip() for page in reader.pages] == ["Page three", "Page one", "Page two"]


async def test_rotate_turns_every_kept_page(three_pages, convert_file):
    output = await convert_file(CONVERTERS["pdf_pages"], three_pages, "pdf", {"pages": "2-", "rotate": 90})
    reader = PdfReader(output)
    assert len(reader.pages) == 2 and all(page.rotation == 90 for page in reader.pages)


async def test_merge_joins_the_pdfs_of_a_zip_in_name_order(pdf_zip, convert_file):
    output = await convert_file(CONVERTERS["pdf_merge"], pdf_zip, "pdf")
    reader = PdfReader(output)
    assert [page.extract_text().strip() for page in reader.pages] == [*PAGES, "Appendix"]


@pytest.mark.parametrize("pages", ["4", "0-2", "2-1", "one"])
async def test_pages_outside_the_document_are_refused(pages, three_pages, convert_file):
    with pytest.raises(ConversionFailed) as refused:
        await convert_file(CONVERTERS["pdf_pages"], three_pages, "pdf", {"pages": pages})
    assert refused.value.code == "conversion_failed"


HOSTILE = {
    "page-count bomb": (write_page_count_bomb, "more than 2000 pages"),
    "huge page": (write_huge_page_pdf, "pixels at"),
    "stream bomb": (write_stream_bomb_pdf, "inflates to more than"),
    "giant image": (write_giant_image_pdf, "embedded image is larger"),
    "encrypted": (write_encrypted_pdf, "encrypted"),
    "truncated": (write_truncated_pdf, "truncated"),
}


# A huge page is only refused where it would be rasterised (its text is harmless: see the next test).
HOSTILE_CASES = [(kind, name, target) for kind in sorted(HOSTILE)
                 for name, target in (("pdf_to_image", "png"), ("pdf_to_text", "txt"))
                 if not (kind == "huge page" and name == "pdf_to_text")]


@pytest.mark.parametrize("kind,name,target", HOSTILE_CASES)
async def test_hostile_pdfs_are_refused_quickly(kind, name, target, tmp_path, convert_file):
    writer, reason = HOSTILE[kind]
    hostile = writer(tmp_path / "hostile.pdf")
    started = time.monotonic()
    with pytest.raises(ConversionFailed) as refused:
        await convert_file(CONVERTERS[name], hostile, target)
    assert refused.value.status == 422
    assert refused.value.code == ("password_required" if kind == "encrypted" else "conversion_failed")
    assert reason in refused.value.details["reason"]
    assert time.monotonic() - started < 5


async def test_a_huge_page_still_gives_its_text(tmp_path, convert_file):
    output = await convert_file(CONVERTERS["pdf_to_text"], write_huge_page_pdf(tmp_path / "huge.pdf"), "txt")
    assert "Huge" in output.read_text(encoding="utf-8")


async def test_content_shared_by_many_pages_is_counted_once(tmp_path, convert_file):
    """300 pages drawing one 1 MB letterhead stream: 300 MB if counted per page, 1 MB in fact."""
    src = write_shared_content_pdf(tmp_path / "letterhead.pdf", pages=300)
    output = await convert_file(CONVERTERS["pdf_pages"], src, "pdf", {"rotate": 180})
    reader = PdfReader(output)
    assert len(reader.pages) == 300 and reader.pages[299].rotation == 180


@pytest.mark.parametrize("garbage", [b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n",
                                     b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\n%%EOF\n"])
async def test_garbage_is_a_clean_conversion_failure(garbage, tmp_path, convert_file):
    src = tmp_path / "garbage.pdf"
    src.write_bytes(garbage)
    for name, target in (("pdf_to_image", "png"), ("pdf_pages", "pdf")):
        with pytest.raises(ConversionFailed):
            await convert_file(CONVERTERS[name], src, target)


async def test_rasterising_more_than_100_pages_at_once_is_refused(tmp_path, convert_file):
    src = write_pdf(tmp_path / "long.pdf", [f"Page {n}" for n in range(1, 102)])
    with pytest.raises(ConversionFailed) as refused:
        await convert_file(CONVERTERS["pdf_to_images"], src, "zip", {"dpi": 36})
    assert "more than 100 pages" in refused.value.details["reason"]
    output = await convert_file(CONVERTERS["pdf_to_images"], src, "zip", {"pages": "100-101", "dpi": 36})
    with zipfile.ZipFile(output) as archive:
        assert archive.namelist() == ["page-0100.png", "page-0101.png"]


async def test_a_zip_without_pdfs_cannot_be_merged(tmp_path, convert_file):
    src = write_pdf_zip(tmp_path / "nothing.zip", {}, extra={"notes.txt": b"hello"})
    with pytest.raises(ConversionFailed) as refused:
        await convert_file(CONVERTERS["pdf_merge"], src, "pdf")
    assert "no PDF" in refused.value.details["reason"]


def test_missing_poppler_is_reported_with_the_install_hint(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    availability = CONVERTERS["pdf_to_image"].availability()
    assert not availability.available
    assert "pdftoppm" in availability.reason and "poppler-utils" in availability.install


async def test_progress_follows_the_pages_rendered(convert_file, three_pages):
    seen: list[int] = []
    await convert_file(CONVERTERS["pdf_to_images"], three_pages, "zip", report=seen.append)
    assert seen == sorted(seen) and seen[-1] == 100
    assert seen.count(100) == 1, f"100% before the last page was rendered: {seen}"
    assert len([value for value in seen if 5 < value < 100]) >= 2  # one step per page
