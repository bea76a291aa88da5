"""Samples for the OCR and Markdown tests, made on the spot: scanned-looking pages (Pillow draws known words on a
grey-speckled page, as a 300 dpi scanner would give them), a page of paragraphs to turn or skew, PDFs of such
pages, a PNG that claims huge pixel dimensions (an image bomb), and a report with a heading, a list and a table as
HTML and as PowerPoint."""

from __future__ import annotations

import random
import struct
import textwrap
import zlib
from pathlib import Path

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SCAN_WORDS = ("Invoice number 4711", "The quick brown fox", "jumps over the lazy dog")
LETTER = (  # enough running text for Tesseract's orientation and skew estimates to be confident
    "The committee met on Tuesday morning to review the annual budget and the plans for the new library building.",
    "Several members asked whether the reading rooms would stay open during the works, and the architect said yes.",
    "The treasurer reported that the costs of heating and lighting had fallen by a fifth since the windows were "
    "replaced.",
    "Volunteers will help to move the old books into the storage hall before the builders arrive in the spring.",
)
REPORT_HTML = """<html><body>
<h1>Quarterly Report</h1>
<p>This report covers the sales of the first quarter.</p>
<h2>Highlights</h2>
<ul><li>Revenue grew in Madrid</li><li>Costs fell in Berlin</li><li>Paris opened a shop</li></ul>
<table border="1"><tr><th>City</th><th>Sales</th></tr><tr><td>Madrid</td><td>120</td></tr>
<tr><td>Berlin</td><td>95</td></tr></table>
<p>End of the report.</p>
</body></html>
"""


def scanned_page(lines=SCAN_WORDS, *, seed: int = 1, dpi: int = 300, size: int | None = None):
    """A Pillow image of an A4 page at `dpi` with `lines` of dark text (`size` pixels high, a sixth of an inch
    unless told) and scanner speckle."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = int(8.27 * dpi), int(11.69 * dpi)
    page = Image.new("L", (width, height), 250)
    draw = ImageDraw.Draw(page)
    size = size or dpi // 6
    font = ImageFont.truetype(FONT, size)
    for index, line in enumerate(lines):
        draw.text((dpi, dpi + index * 2 * size), line, fill=20, font=font)
    noise = random.Random(seed)
    for _ in range(2000):
        x, y = noise.randrange(width), noise.randrange(height)
        draw.point((x, y), fill=noise.randrange(120, 230))
    return page


def letter_page(*, dpi: int = 150, size: int = 25):
    """LETTER's paragraphs wrapped to an A4 page by `scanned_page`, in a font `size` pixels high."""
    per_line = int((8.27 - 2) * dpi / (size * 0.6))  # DejaVu Sans's letters average about 0.55 em: lines fit
    return scanned_page([line for paragraph in LETTER for line in textwrap.wrap(paragraph, per_line)], dpi=dpi,
                        size=size)


def write_scan_png(path: Path, lines=SCAN_WORDS, dpi: int = 300) -> Path:
    scanned_page(lines, dpi=dpi).save(path, dpi=(dpi, dpi))
    return path


def write_scanned_pdf(path: Path, pages: list[tuple[str, ...]], dpi: int = 200) -> Path:
    """A PDF of page images only (no text at all), one per entry of `pages`."""
    images = [scanned_page(lines, seed=index, dpi=dpi).convert("RGB") for index, lines in enumerate(pages)]
    images[0].save(path, save_all=True, append_images=images[1:], resolution=dpi)
    return path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png_bomb(path: Path, side: int = 100_000) -> Path:
    """A valid-looking PNG header for a side x side grey picture (10 gigapixels) and a few bytes of data."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 1024 * 1024, 9)  # the first rows; a decoder would go on asking for more
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b""))
    return path


def write_report_pptx(path: Path) -> Path:
    """Two slides: a title with three bullets, and a title with a 3 x 2 table."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Quarterly Report"
    body = first.placeholders[1].text_frame
    body.text = "Revenue grew in Madrid"
    for line in ("Costs fell in Berlin", "Paris opened a shop"):
        body.add_paragraph().text = line
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Sales by city"
    table = second.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for row, values in enumerate((("City", "Sales"), ("Madrid", "120"), ("Berlin", "95"))):
        for column, value in enumerate(values):
            table.cell(row, column).text = value
    deck.save(path)
    return path
