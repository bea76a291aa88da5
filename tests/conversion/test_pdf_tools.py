"""The PDF tools of `pdf_pages`: compress, watermark, protect and open with a password, linearize, metadata,
flatten; each checked from the output's bytes with poppler, qpdf and pypdf; and what they refuse."""

from __future__ import annotations

import base64
import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from anclora.conversion.options import schema_errors
from anclora.errors import ConversionFailed, PasswordIncorrect, PasswordRequired
from media_samples import bundled_converters
from samples import write_encrypted_pdf, write_pdf, write_truncated_pdf

sys.path.insert(0, str(Path(__file__).parent.parent / "gotenberg"))  # (the form sample)
from gotenberg_samples import write_form_pdf  # noqa: E402

PAGES = ["Page one", "Page two", "Page three"]


@pytest.fixture
def pdf_pages():
    return bundled_converters()["pdf_pages"]


@pytest.fixture
def tools(pdf_pages, convert_file):
    """`await tools(src, options)` -> the output path, the options checked against the schema first."""
    async def run(src: Path, options: dict) -> Path:
        assert schema_errors(pdf_pages.options, options) == []
        return await convert_file(pdf_pages, src, "pdf", options)
    return run


@pytest.fixture
def three_pages(tmp_path) -> Path:
    return write_pdf(tmp_path / "three.pdf", PAGES)


def page_text(path: Path, number: int, password: str | None = None) -> subprocess.CompletedProcess:
    argv = ["pdftotext", "-raw", "-f", str(number), "-l", str(number), "-enc", "UTF-8"]  # content order
    argv += ["-upw", password] if password else []
    return subprocess.run([*argv, str(path), "-"], capture_output=True, text=True, timeout=60)


def png_base64(size=(200, 100), colour=(200, 0, 0, 128)) -> str:
    buffer = io.BytesIO()
    Image.new("RGBA", size, colour).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def write_photo_pdf(path: Path, side: int = 2400) -> Path:
    """One page showing a large noisy photo-like JPEG at 600 dpi (a 4-inch square)."""
    image = Image.effect_noise((side, side), 80).convert("RGB")
    image.save(path, "PDF", resolution=side / 4, quality=90)
    return path


async def test_a_text_watermark_is_on_every_page(tools, three_pages):
    output = await tools(three_pages, {"watermark": {"text": "CONFIDENTIAL", "opacity": 0.3, "rotation": 30}})
    for number, words in enumerate(PAGES, 1):
        text = page_text(output, number).stdout
        assert "CONFIDENTIAL" in text and words in text
    state = PdfReader(output).pages[0]["/Resources"]["/ExtGState"]["/AncloraMarkState"]
    assert float(state["/ca"]) == pytest.approx(0.3)


def word_box(path: Path, number: int, word: str) -> dict[str, float]:
    """Where `word` is on page `number` as shown (pdftotext's bounding box; y grows downwards)."""
    boxes = subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), "-bbox", str(path), "-"],
                           capture_output=True, text=True, check=True).stdout
    line = next(line for line in boxes.splitlines() if f">{word}<" in line)
    return {key: float(line.split(f'{key}="')[1].split('"')[0]) for key in ("xMin", "yMin", "xMax", "yMax")}


async def test_a_watermark_on_some_pages_at_a_corner(tools, three_pages):
    output = await tools(three_pages, {"watermark": {"text": "DRAFT", "pages": "2-", "rotation": 0,
                                                     "position": "bottom-right", "scale": 0.2}})
    assert "DRAFT" not in page_text(output, 1).stdout
    assert all("DRAFT" in page_text(output, number).stdout for number in (2, 3))
    box = word_box(output, 2, "DRAFT")
    assert box["xMin"] > 612 * 0.7 and box["yMax"] > 792 * 0.9
    assert box["xMax"] - box["xMin"] == pytest.approx(612 * 0.2, rel=0.05)  # a fifth of the page's width


async def test_a_turned_page_gets_its_mark_as_it_is_shown(tools, three_pages):
    output = await tools(three_pages, {"rotate": 90, "watermark": {"text": "SIDEWAYS", "rotation": 0,
                                                                   "position": "top-left", "scale": 0.3}})
    box = word_box(output, 1, "SIDEWAYS")  # shown landscape: 792 wide, 612 high
    assert box["xMin"] < 792 * 0.1 and box["yMin"] < 612 * 0.1
    assert box["xMax"] - box["xMin"] == pytest.approx(792 * 0.3, rel=0.05)  # read left to right, as shown
    assert box["yMax"] - box["yMin"] < 100


async def test_an_image_watermark_is_drawn_under_the_content(tools, three_pages):
    output = await tools(three_pages, {"watermark": {"image": png_base64(), "layer": "under", "scale": 0.4}})
    reader = PdfReader(output)
    for page in reader.pages:
        image = page["/Resources"]["/XObject"]["/AncloraMarkImage"].get_object()
        assert (image["/Width"], image["/Height"]) == (200, 100)
        assert "/SMask" in image  # the PNG's transparency is kept
        first = page["/Contents"][0].get_object().get_data()
        assert b"/AncloraMarkImage Do" in first  # drawn first: under the page's own content
    assert "Page two" in page_text(output, 2).stdout


async def test_a_protected_pdf_opens_only_with_its_password(tools, three_pages, tmp_path, convert_file, pdf_pages):
    output = await tools(three_pages, {"protect": {"user_password": "s3cret pass", "owner_password": "owner",
                                                   "allow_printing": False}})
    assert page_text(output, 1).returncode != 0  # poppler cannot open it without the password
    assert "Page one" in page_text(output, 1, "s3cret pass").stdout
    check = subprocess.run(["qpdf", "--show-encryption", "--password=s3cret pass", str(output)],
                           capture_output=True, text=True)
    assert "AESv3" in check.stdout and "print low resolution: not allowed" in check.stdout
    reader = PdfReader(output)
    assert reader.is_encrypted and not reader.decrypt("wrong")
    assert reader.decrypt("s3cret pass")

    with pytest.raises(PasswordRequired) as required:
        await tools(output, {"metadata": {"Title": "x"}})
    assert required.value.code == "password_required" and required.value.status == 422
    with pytest.raises(PasswordIncorrect) as incorrect:
        await tools(output, {"password": "guess"})
    assert incorrect.value.code == "password_incorrect"

    opened = await tools(output, {"password": "s3cret pass"})  # removing the password
    assert not PdfReader(opened).is_encrypted
    assert "Page three" in page_text(opened, 3).stdout


async def test_an_owner_password_alone_leaves_the_pdf_readable(tools, three_pages):
    output = await tools(three_pages, {"protect": {"owner_password": "boss", "allow_copying": False}})
    assert "Page one" in page_text(output, 1).stdout
    assert PdfReader(output).is_encrypted


async def test_a_pdf_encrypted_elsewhere_converts_with_its_password(tools, tmp_path):
    encrypted = write_encrypted_pdf(tmp_path / "locked.pdf", password="pypdf-pass")
    output = await tools(encrypted, {"password": "pypdf-pass", "metadata": {"Title": "Opened"}})
    assert PdfReader(output).metadata["/Title"] == "Opened"
    assert "Confidential" in page_text(output, 1).stdout


async def test_compress_makes_a_photo_pdf_smaller_and_still_valid(tools, tmp_path):
    photo = write_photo_pdf(tmp_path / "photo.pdf")
    sizes = {}
    for level in ("low", "high"):
        output = await tools(photo, {"compress": level})
        sizes[level] = output.stat().st_size
        assert subprocess.run(["qpdf", "--check", str(output)], capture_output=True).returncode == 0
        assert len(PdfReader(output).pages) == 1
    assert sizes["high"] < sizes["low"] < photo.stat().st_size / 2
    low = await tools(photo, {"image_quality": 30})  # at full resolution, re-encoded as JPEG
    assert next(iter(PdfReader(low).pages[0].images)).image.size == (2400, 2400)
    high = await tools(photo, {"image_quality": 95})
    assert low.stat().st_size < min(photo.stat().st_size, high.stat().st_size) / 2


async def test_linearized_output_passes_qpdf(tools, three_pages):
    output = await tools(three_pages, {"linearize": True, "metadata": {"Title": "Fast"}})
    check = subprocess.run(["qpdf", "--check-linearization", str(output)], capture_output=True, text=True)
    assert check.returncode == 0 and "no linearization errors" in check.stdout
    assert PdfReader(output).metadata["/Title"] == "Fast"


async def test_everything_at_once(tools, tmp_path):
    photo = write_photo_pdf(tmp_path / "photo.pdf", side=1200)
    output = await tools(photo, {"compress": "medium", "watermark": {"text": "COPY", "rotation": 30},
                                 "metadata": {"Author": "Ada"}, "protect": {"user_password": "pw"},
                                 "linearize": True})
    assert "COPY" in page_text(output, 1, "pw").stdout
    check = subprocess.run(["qpdf", "--password=pw", "--check-linearization", str(output)], capture_output=True)
    assert check.returncode == 0
    reader = PdfReader(output)
    reader.decrypt("pw")
    assert reader.metadata["/Author"] == "Ada"


async def test_metadata_written_is_read_back_and_forms_flatten(tools, convert_file, tmp_path):
    form = write_form_pdf(tmp_path / "form.pdf", "Grace Hopper")
    output = await tools(form, {"flatten": True, "metadata": {"Title": "Flat", "Keywords": ["a", "b"]}})
    metadata = await convert_file(bundled_converters()["pdf_metadata"], output, "json")
    read = json.loads(metadata.read_text())
    assert read["Title"] == "Flat" and read["Keywords"] == "a, b"
    reader = PdfReader(output)
    assert "/AcroForm" not in reader.trailer["/Root"] and "/Annots" not in reader.pages[0]
    assert "Grace Hopper" in page_text(output, 1).stdout


def write_png_bomb() -> str:
    """A 1-bit PNG of 20000 x 20000 pixels in about 50 kB: rows of zeros, deflated."""
    width = height = 20000
    rows = (b"\x00" + b"\x00" * (width // 8)) * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode()


@pytest.mark.parametrize("watermark, reason", [
    ({"image": "bm90IGFuIGltYWdl"}, "not a readable PNG or JPEG"),
    ({"image": "***"}, "not valid base64"),
    ({"text": "日本語"}, "standard fonts cannot show"),
])
async def test_watermarks_that_cannot_be_drawn_are_refused(tools, three_pages, watermark, reason):
    with pytest.raises(ConversionFailed) as refused:
        await tools(three_pages, {"watermark": watermark})
    assert refused.value.status == 422 and reason in refused.value.details["reason"]


async def test_a_decompression_bomb_watermark_is_refused(tools, three_pages):
    bomb = write_png_bomb()
    assert len(bomb) < 200_000
    with pytest.raises(ConversionFailed) as refused:
        await tools(three_pages, {"watermark": {"image": bomb}})
    assert "larger than 25000000 pixels" in refused.value.details["reason"]


@pytest.mark.parametrize("kind", ["garbage", "truncated", "encrypted"])
@pytest.mark.parametrize("options", [{"compress": "medium"}, {"linearize": True}, {"watermark": {"text": "X"}},
                                     {"protect": {"user_password": "x"}}])
async def test_hostile_inputs_are_refused_cleanly(tools, tmp_path, kind, options):
    path = tmp_path / f"{kind}.pdf"
    if kind == "garbage":
        path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    elif kind == "truncated":
        write_truncated_pdf(path)
    else:
        write_encrypted_pdf(path)
    with pytest.raises(ConversionFailed) as refused:
        await tools(path, options)
    assert refused.value.status == 422
    assert refused.value.code == ("password_required" if kind == "encrypted" else "conversion_failed")
    assert sorted(item.name for item in path.parent.glob("job-*/step-*")) == []


def test_the_schema_refuses_what_is_not_implemented(pdf_pages):
    for options in ({"watermark": {"text": "a", "image": "b"}}, {"watermark": {}}, {"compress": "max"},
                    {"protect": {}}, {"protect": {"user_password": "a\nb"}},
                    {"watermark": {"text": "a", "font": "Arial"}}, {"watermark": {"text": "a", "position": "middle"}},
                    {"image_quality": 0}):
        assert schema_errors(pdf_pages.options, options), options

