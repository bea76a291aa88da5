"""The Chromium converters on a warm pool: every advertised pair from a real sample, and every option, each checked
in the bytes and text of what Chromium produced."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image
from pypdf import PdfReader

from anclora.engines.chromium_pool import ChromiumPool
from anclora.errors import ConversionFailed
from anclora.sniff import sniff
from chromium_samples import (RED, WORD, first_page_pixel, page_sizes, pdf_text, word_left, word_width, write_html,
                              write_markdown, write_pages, write_site_zip)
from media_samples import bundled_converters

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.backend_independent]  # no database, no Redis

CONVERTERS = {name: bundled_converters()[name] for name in ("chromium_pdf", "chromium_screenshot")}
PAIRS = sorted((name, source, target) for name, converter in CONVERTERS.items()
               for source, target in converter.pairs())
A4, LETTER = (595, 842), (612, 792)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium():
    async with ChromiumPool(size=1) as pool:
        await pool.start()
        yield {"chromium_pool": pool}


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("chromium-samples")
    return {"html": write_html(folder / "page.html"), "htmlzip": write_site_zip(folder / "site.zip"),
            "md": write_markdown(folder / "notes.md")}


@pytest.fixture
def to_pdf(chromium, convert_file, tmp_path):
    async def run(options: dict | None = None, html: str | None = None, source: Path | None = None) -> Path:
        if source is None:
            source = write_html(tmp_path / "page.html", html) if html else write_pages(tmp_path / "one.html", 1)
        return await convert_file(CONVERTERS["chromium_pdf"], source, "pdf", options, resources=chromium)
    return run


async def test_the_pairs_are_advertised():
    assert set(PAIRS) == {("chromium_pdf", source, "pdf") for source in ("html", "htmlzip", "md")} | {
        ("chromium_screenshot", source, target) for source in ("html", "htmlzip", "md") for target in ("png", "jpeg")}


@pytest.mark.parametrize("name,source,target", PAIRS)
async def test_every_advertised_pair_converts(name, source, target, chromium, samples, convert_file):
    output = await convert_file(CONVERTERS[name], samples[source], target, resources=chromium)
    assert sniff(output) == target
    if target == "pdf":
        assert WORD in pdf_text(output)
    else:
        with Image.open(output) as image:
            assert image.size == (1280, 800)


async def test_html_text_layout_and_media(to_pdf, samples):
    text = pdf_text(await to_pdf(source=samples["html"]), "-layout")
    assert f"Hello from {WORD}" in text
    assert "Left cell" in text and "Right cell" in text
    left_line = next(line for line in text.splitlines() if "Left cell" in line)
    assert "Right cell" in left_line  # the CSS grid put them side by side
    assert "PRINTMEDIA" in text and "SCREENMEDIA" not in text


async def test_media_screen(to_pdf, samples):
    text = pdf_text(await to_pdf({"media": "screen"}, source=samples["html"]))
    assert "SCREENMEDIA" in text and "PRINTMEDIA" not in text


async def test_a_zipped_site_loads_its_stylesheet_and_image(chromium, samples, convert_file, tmp_path):
    pdf = await convert_file(CONVERTERS["chromium_pdf"], samples["htmlzip"], "pdf",
                             {"print_background": True, "margin_top": "0", "margin_left": "0"}, resources=chromium)
    assert f"Zipped {WORD}" in pdf_text(pdf)
    assert first_page_pixel(pdf, tmp_path) == RED
    png = await convert_file(CONVERTERS["chromium_screenshot"], samples["htmlzip"], "png", resources=chromium)
    with Image.open(png) as image:
        assert image.convert("RGB").getpixel((600, 700)) == RED
        assert image.convert("RGB").getpixel((20, 95)) == (0, 0, 255)  # the logo below the heading


async def test_markdown_is_rendered_as_html(chromium, samples, convert_file):
    text = pdf_text(await convert_file(CONVERTERS["chromium_pdf"], samples["md"], "pdf", resources=chromium))
    assert f"Markdown {WORD}" in text and "first item" in text and "emphasis" in text
    assert "# Markdown" not in text and "*emphasis*" not in text


def assert_pages(pdf: Path, *sizes: tuple[int, int]) -> None:
    """Chromium rounds a page up to whole CSS pixels: A4's 595.3 points come out as 596."""
    found = page_sizes(pdf)
    assert len(found) == len(sizes)
    for (width, height), (expected_width, expected_height) in zip(found, sizes):
        assert abs(width - expected_width) <= 1 and abs(height - expected_height) <= 1, found


async def test_paper_sizes_and_landscape(to_pdf):
    assert_pages(await to_pdf(), A4)
    assert_pages(await to_pdf({"paper": "Letter"}), LETTER)
    assert_pages(await to_pdf({"paper": "Letter", "landscape": True}), LETTER[::-1])
    assert_pages(await to_pdf({"paper": "A3", "landscape": True}), (1191, 842))
    assert_pages(await to_pdf({"paper_width": "100mm", "paper_height": "5in"}), (283, 360))


async def test_margins_move_the_text(to_pdf):
    narrow = word_left(await to_pdf({"margin_left": "0.5cm"}), "Page")
    wide = word_left(await to_pdf({"margin_left": "50mm"}), "Page")
    assert narrow == pytest.approx(0.5 / 2.54 * 72 + 8, abs=3)  # the margin plus the body's 8 px (6 pt) margin
    assert wide - narrow == pytest.approx(45 / 25.4 * 72, abs=2)


async def test_scale(to_pdf):
    normal = word_width(await to_pdf(), "Page")
    doubled = word_width(await to_pdf({"scale": 2}), "Page")
    assert doubled / normal == pytest.approx(2, rel=0.05)


async def test_print_background(to_pdf, tmp_path):
    html = "<!doctype html><html><body style='background: rgb(255, 0, 0)'><p>Red page</p></body></html>"
    assert first_page_pixel(await to_pdf(html=html), tmp_path) == (255, 255, 255)
    assert first_page_pixel(await to_pdf({"print_background": True, "margin_left": "0", "margin_top": "0"},
                                         html=html), tmp_path) == RED


async def test_page_ranges(to_pdf, tmp_path):
    pages = write_pages(tmp_path / "three.html", 3)
    assert len(page_sizes(await to_pdf(source=pages))) == 3
    kept = await to_pdf({"page_ranges": "2-3"}, source=pages)
    assert len(page_sizes(kept)) == 2
    assert "Page number 1" not in pdf_text(kept) and "Page number 3" in pdf_text(kept)
    with pytest.raises(ConversionFailed):
        await to_pdf({"page_ranges": "7"}, source=pages)


async def test_header_and_footer(to_pdf, tmp_path):
    pages = write_pages(tmp_path / "two.html", 2)
    pdf = await to_pdf({"header_html": '<div style="font-size: 10px">TOPLINE</div>',
                        "footer_html": '<div style="font-size: 10px">Folio <span class="pageNumber"></span> of '
                                       '<span class="totalPages"></span></div>'}, source=pages)
    text = pdf_text(pdf)
    assert text.count("TOPLINE") == 2
    assert "Folio 1 of 2" in text and "Folio 2 of 2" in text


async def test_prefer_css_page_size(to_pdf):
    html = "<!doctype html><html><head><style>@page { size: 4in 6in; }</style></head><body>Card</body></html>"
    assert_pages(await to_pdf(html=html), A4)
    assert_pages(await to_pdf({"prefer_css_page_size": True}, html=html), (288, 432))


LATE = ("<!doctype html><html><body><p>Early</p><script>setTimeout(() => {{ const p = document.createElement('p');"
        " p.id = 'late'; p.textContent = 'LATETEXT'; document.body.appendChild(p); window.done = true; }}, {delay});"
        "</script></body></html>")


async def test_wait_for_selector(to_pdf):
    html = LATE.format(delay=4000)  # far longer than printing a loaded page takes, even on a loaded machine
    assert "LATETEXT" not in pdf_text(await to_pdf(html=html))
    assert "LATETEXT" in pdf_text(await to_pdf({"wait_for_selector": "#late"}, html=html))


async def test_wait_for_expression_and_delay(to_pdf):
    html = LATE.format(delay=300)
    assert "LATETEXT" in pdf_text(await to_pdf({"wait_for_expression": "window.done === true"}, html=html))
    assert "LATETEXT" in pdf_text(await to_pdf({"wait_delay": 1.5}, html=html))


async def test_an_invalid_selector_is_a_conversion_error(to_pdf):
    with pytest.raises(ConversionFailed):
        await to_pdf({"wait_for_selector": "p[["})


async def test_screenshot_size_full_page_and_quality(chromium, convert_file, tmp_path):
    tall = write_html(tmp_path / "tall.html", "<!doctype html><html><body style='margin:0'>"
                                              "<div style='height: 2500px; background: rgb(255,0,0)'>Tall</div>"
                                              "</body></html>")
    shot = CONVERTERS["chromium_screenshot"]
    small = await convert_file(shot, tall, "png", {"width": 400, "height": 300}, resources=chromium)
    whole = await convert_file(shot, tall, "png", {"width": 400, "height": 300, "full_page": True},
                               resources=chromium)
    with Image.open(small) as first, Image.open(whole) as second:
        assert first.size == (400, 300) and second.size == (400, 2500)
        assert second.convert("RGB").getpixel((200, 2400)) == RED
    rough = await convert_file(shot, tall, "jpeg", {"quality": 5}, resources=chromium)
    fine = await convert_file(shot, tall, "jpeg", {"quality": 95}, resources=chromium)
    assert sniff(rough) == sniff(fine) == "jpeg"
    assert rough.stat().st_size < fine.stat().st_size


async def test_without_a_pool_a_one_off_browser_converts(samples, convert_file):
    output = await convert_file(CONVERTERS["chromium_pdf"], samples["html"], "pdf")
    assert WORD in pdf_text(output)


async def test_tagged_pdf_and_outline(to_pdf):
    html = ("<!doctype html><html><body><h1>Chapter one</h1><p>Text</p><h2>Section</h2><h1>Chapter two</h1>"
            "</body></html>")
    plain = PdfReader(await to_pdf(html=html))
    assert "/StructTreeRoot" not in plain.trailer["/Root"] and not plain.outline
    tagged = PdfReader(await to_pdf({"tagged": True}, html=html))
    assert "/StructTreeRoot" in tagged.trailer["/Root"] and not tagged.outline
    outlined = PdfReader(await to_pdf({"outline": True}, html=html))
    titles = [entry.title for entry in outlined.outline if not isinstance(entry, list)]
    assert titles == ["Chapter one", "Chapter two"]


async def test_markdown_placed_in_a_zipped_template(chromium, convert_file, tmp_path):
    """Gotenberg's Markdown route: index.html calls {{ toHTML "file.md" }} for each Markdown file of the zip."""
    template = ('<!doctype html><html><body><header>Template top</header>{{ toHTML "notes.md" }}'
                '<footer>{{toHTML .DirPath "more.md"}}</footer></body></html>')
    site = tmp_path / "md-site.zip"
    with zipfile.ZipFile(site, "w") as archive:
        archive.writestr("index.html", template)
        archive.writestr("notes.md", f"# Notes from {WORD}\n\n- *first* point\n")
        archive.writestr("more.md", "Closing **words**.\n")
    text = pdf_text(await convert_file(CONVERTERS["chromium_pdf"], site, "pdf", resources=chromium))
    assert "Template top" in text and f"Notes from {WORD}" in text and "first point" in text
    assert "Closing words." in text
    assert "toHTML" not in text and "#" not in text and "**" not in text
    missing = tmp_path / "missing.zip"
    with zipfile.ZipFile(missing, "w") as archive:
        archive.writestr("index.html", '<html><body>{{ toHTML "absent.md" }}</body></html>')
    with pytest.raises(ConversionFailed, match="absent.md"):
        await convert_file(CONVERTERS["chromium_pdf"], missing, "pdf", resources=chromium)
