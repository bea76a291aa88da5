"""PDF/A through the running server: `pdfa` on office, image, HTML (Chromium) and PDF input, and on OCR, each result's
XMP naming the part and conformance asked for; a PDF that does not is a failed conversion; Markdown for machines
from docx, html, pdf and pptx keeps a heading, a list and a table, and a scanned PDF reads through OCR."""

from __future__ import annotations

import re
import subprocess

import pytest

from anclora.engines import pdfa
from anclora.errors import ConversionFailed
from ocr_samples import REPORT_HTML, SCAN_WORDS, write_report_pptx, write_scan_png, write_scanned_pdf
from samples import write_docx, write_pdf


@pytest.fixture
def anclora_overrides():
    return {"office_pool_size": 1}


def xmp_identification(data: bytes, tmp_path) -> tuple[str, str]:
    """pdfaid:part and pdfaid:conformance as the PDF's XMP carries them (attribute or element)."""
    path = tmp_path / "checked.pdf"
    path.write_bytes(data)
    xmp = subprocess.run(["pdfinfo", "-meta", str(path)], capture_output=True, text=True, check=True).stdout
    found = []
    for name in ("part", "conformance"):
        match = re.search(rf'pdfaid:{name}="([^"]*)"|<pdfaid:{name}>([^<]*)</pdfaid:{name}>', xmp)
        found.append((match.group(1) or match.group(2)) if match else "")
    return found[0], found[1].upper()


def pdf_text(data: bytes) -> str:
    return " ".join(subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True,
                                   check=True).stdout.decode().split())


@pytest.mark.parametrize("name, make, level, converter", [
    ("report.docx", lambda tmp: write_docx(tmp / "report.docx", ["Archived report"]).read_bytes(), "1b",
     "office_document"),
    ("scan.png", lambda tmp: write_scan_png(tmp / "scan.png").read_bytes(), "2b", "images"),
    ("page.html", lambda tmp: b"<h1 style='display:flex'>Archived page</h1>", "3b", "chromium_pdf"),
    ("typed.pdf", lambda tmp: write_pdf(tmp / "typed.pdf", ["Archived PDF"]).read_bytes(), "2b", "pdf_pages"),
])
async def test_pdfa_on_every_conversion_to_pdf(client, anclora_ctx, tmp_path, name, make, level, converter):
    source = anclora_ctx.planner.route(name.rsplit(".", 1)[1], "pdf")
    assert source.name == converter and source.options_schema["properties"]["pdfa"]["enum"] == ["1b", "2b", "3b"]
    response = await client.post(f"/api/convert?to=pdf&filename={name}&pdfa={level}", content=make(tmp_path))
    assert response.status_code == 200, response.text
    part, conformance = xmp_identification(response.content, tmp_path)
    assert part == level[0] and conformance in ("A", "B")  # LibreOffice writes PDF/A-1 as 1a, which meets 1b
    if not name.endswith(".png"):
        assert "Archived" in pdf_text(response.content)


async def test_ocr_writes_pdfa_itself_with_its_text(client, anclora_ctx, tmp_path):
    scan = write_scan_png(tmp_path / "scan.png").read_bytes()
    response = await client.post("/api/convert?to=pdf&filename=scan.png&ocr=true&pdfa=3b", content=scan)
    assert response.status_code == 200, response.text
    assert xmp_identification(response.content, tmp_path) == ("3", "B")
    assert SCAN_WORDS[0] in pdf_text(response.content)


async def test_a_level_that_does_not_exist_is_refused(client, anclora_ctx, tmp_path):
    response = await client.post("/api/convert?to=pdf&filename=typed.pdf&pdfa=4",
                                 content=write_pdf(tmp_path / "typed.pdf").read_bytes())
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["path"] == "pdfa"


@pytest.mark.backend_independent
async def test_a_pdf_without_the_identification_fails_the_check(tmp_path):
    plain = write_pdf(tmp_path / "plain.pdf", ["Not an archive"])
    with pytest.raises(ConversionFailed, match="not PDF/A-2b: its XMP metadata carries no PDF/A identification"):
        await pdfa.check(plain, "2b", cwd=tmp_path, timeout=30)
    made = tmp_path / "made.pdf"
    await pdfa.make(plain, made, "1b", cwd=tmp_path, timeout=120)
    with pytest.raises(ConversionFailed, match="not PDF/A-2b: its XMP metadata carries PDF/A-1b"):
        await pdfa.check(made, "2b", cwd=tmp_path, timeout=30)
    await pdfa.check(made, "1b", cwd=tmp_path, timeout=30)


# -- Markdown for machines ---------------------------------------------------------------------------------------

def assert_structure(markdown: str) -> None:
    lines = [line.strip() for line in markdown.splitlines()]
    assert "# Quarterly Report" in lines, markdown
    assert any(re.fullmatch(r"[-*] Revenue grew in Madrid", line) for line in lines), markdown
    header = next(line for line in lines if line.startswith("|") and "City" in line)
    assert [cell.strip() for cell in header.strip("|").split("|")] == ["City", "Sales"], markdown
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines if line.startswith("|")]
    assert ["Madrid", "120"] in rows and ["Berlin", "95"] in rows, markdown


async def to_markdown(client, name: str, data: bytes, query: str = ""):
    response = await client.post(f"/api/convert?to=md&filename={name}&{query}", content=data)
    assert response.status_code == 200, response.text
    return response.content.decode("utf-8")


async def test_markdown_keeps_headings_lists_and_tables(client, anclora_ctx, tmp_path):
    html = REPORT_HTML.encode()
    assert_structure(await to_markdown(client, "report.html", html))
    docx = await client.post("/api/convert?to=docx&filename=report.html", content=html)
    assert docx.status_code == 200, docx.text
    assert_structure(await to_markdown(client, "report.docx", docx.content))
    pdf = await client.post("/api/convert?to=pdf&filename=report.docx", content=docx.content)
    assert pdf.status_code == 200, pdf.text
    assert anclora_ctx.planner.route("pdf", "md").name == "pdf_markdown"
    assert_structure(await to_markdown(client, "report.pdf", pdf.content))
    pptx = write_report_pptx(tmp_path / "report.pptx").read_bytes()
    deck = await to_markdown(client, "report.pptx", pptx)
    assert_structure(deck)
    assert "# Sales by city" in deck.splitlines()


async def test_a_scanned_pdf_reads_as_markdown_through_ocr(client, anclora_ctx, tmp_path):
    scanned = write_scanned_pdf(tmp_path / "scanned.pdf", [SCAN_WORDS]).read_bytes()
    without = await client.post("/api/convert?to=md&filename=scanned.pdf", content=scanned)
    assert without.status_code == 422
    assert "ask for `ocr`" in without.json()["error"]["message"]
    markdown = " ".join((await to_markdown(client, "scanned.pdf", scanned, "ocr=true&languages=eng")).split())
    assert all(line in markdown for line in SCAN_WORDS), markdown
