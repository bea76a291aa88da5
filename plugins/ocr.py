"""OCR and text for machines: scanned images (png, jpeg, tiff) and PDFs to PDF with a text layer (OCRmyPDF and
Tesseract), and PDF and PowerPoint to Markdown that keeps headings, lists and tables (`_markdown_worker.py`:
pdfplumber, python-pptx; docx and html to Markdown are pandoc's, in the markup plugin).

The converter `ocr` serves png | jpeg | tiff | pdf → pdf beside `images` and `pdf_pages`; the planner reaches it
with the option only it knows, `{"ocr": true}` (`anclora.conversion.planner.Planner.route`). Pages that already
have text are kept as they are unless `force` (OCR a rasterised copy of every page) or `redo` (replace an earlier
OCR layer) is asked; `languages` are Tesseract's codes of the language packs installed here
(`apt-get install tesseract-ocr-<code>`); `pdfa` is written by OCRmyPDF itself. Progress is reported per page.

Before OCRmyPDF runs, a PDF passes the PDF plugin's checks (`_pdf_worker.py`: password, damage, page-count, page
size and stream bombs) and an image's header is read by `_ocr_worker.py` (pixel and frame caps), both sandboxed.
`pdf_markdown` reads a scanned PDF through the same OCR first when `ocr` is set.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

from anclora import (Availability, ConversionContext, ConversionFailed, Converter, UnsupportedMediaType,
                     hookimpl)
from anclora.conversion.pdfa import OPTION as PDFA_OPTION
from anclora.engines import ocrmypdf, worker, zipcheck
from anclora.sniff import sniff

IMAGE_SOURCES = ("png", "jpeg", "tiff")
MAX_PIXELS = 100_000_000  # one page image: an A4 scan at 600 dpi is 35 million
MAX_FRAMES = 100
MAX_TOTAL_PIXELS = 1_000_000_000  # all pages of a multi-page TIFF: about 30 A4 pages at 600 dpi
MAX_PAGES = 500
OCR_DPI = 300  # pages are checked at the resolution Tesseract would be fed
CHECK_MEMORY = 1536 * 2**20
WORKER = Path(__file__).with_name("_ocr_worker.py")
MARKDOWN_WORKER = Path(__file__).with_name("_markdown_worker.py")
MARKDOWN_MEMORY = 2 * 2**30
PDF_WORKER = Path(__file__).with_name("_pdf_worker.py")
PDF_CAPS = {"MAX_PAGES": MAX_PAGES, "MAX_PAGE_PIXELS": MAX_PIXELS, "MAX_IMAGE_PIXELS": MAX_PIXELS,
            "MAX_STREAM_BYTES": 256 * 2**20, "MAX_MERGE_FILES": 1, "MAX_XOBJECT_DEPTH": 8}


def ocr_options(languages: tuple[str, ...]) -> dict[str, Any]:
    """The OCR settings a caller may give, with the languages installed here as the allowed codes."""
    default = ["eng"] if "eng" in languages else list(languages[:1])
    return {
        "languages": {"type": "array", "items": {"type": "string", "enum": list(languages)}, "minItems": 1,
                      "maxItems": 5, "uniqueItems": True, "default": default,
                      "description": "Tesseract language codes of the text (installed here: "
                                     f"{', '.join(languages) or 'none'})."},
        "deskew": {"type": "boolean", "default": False, "description": "Straighten crooked scans before OCR."},
        "rotate_pages": {"type": "boolean", "default": False,
                         "description": "Turn pages whose text is sideways or upside down upright."},
    }


def settings_of(options: dict[str, Any], existing: str = "skip") -> ocrmypdf.Ocr:
    languages = tuple(options.get("languages") or ocr_options(ocrmypdf.languages())["languages"]["default"])
    return ocrmypdf.Ocr(languages=languages, deskew=options.get("deskew", False),
                        rotate_pages=options.get("rotate_pages", False), existing=existing)


async def check_pdf(src: Path, ctx: ConversionContext, span: tuple[float, float] = (0, 5)) -> None:
    """The PDF plugin's document and page checks at OCR resolution (Refused → 422 before any engine runs)."""
    report = ctx.workdir / "ocr-pdf-check.json"
    await worker.run_worker(PDF_WORKER, src, report, "pdf",
                            {"operation": "check", "limits": PDF_CAPS, "dpi": OCR_DPI, "cap": MAX_PAGES}, ctx,
                            memory_bytes=CHECK_MEMORY, cpu_seconds=60, timeout=60, progress_span=span)
    report.unlink()


async def check_image(src: Path, source: str, ctx: ConversionContext) -> tuple[Path, int | None]:
    """The image OCRmyPDF should read (a flattened copy when needed) and its resolution when credible."""
    report = ctx.workdir / "ocr-image-check.json"
    await worker.run_worker(WORKER, src, report, source, {"max_pixels": MAX_PIXELS, "max_frames": MAX_FRAMES,
                                                   "max_total_pixels": MAX_TOTAL_PIXELS},
                            ctx, memory_bytes=CHECK_MEMORY, cpu_seconds=60, timeout=60, progress_span=(0, 5))
    found = json.loads(report.read_text())
    report.unlink()
    return (ctx.workdir / found["image"] if found["image"] else src), found["dpi"]


async def run_ocr(src: Path, dst: Path, source: str, settings: ocrmypdf.Ocr, ctx: ConversionContext, *,
                  pdfa: str | None = None, span: tuple[float, float] = (5, 100)) -> None:
    """`src` (checked here first) through OCRmyPDF into a PDF with a text layer, progress per page in `span`."""
    image_dpi = None
    if source == "pdf":
        await check_pdf(src, ctx, (span[0], span[0]))
    else:
        src, dpi = await check_image(src, source, ctx)
        image_dpi = dpi or OCR_DPI
    low, high = span
    relay = worker.ProgressRelay(ctx, scale=lambda value: low + value * (high - low) / 100)
    await ocrmypdf.run(src, dst, settings, cwd=ctx.workdir, timeout=ctx.timeout, on_page=relay, pdfa=pdfa,
                       image_dpi=image_dpi)
    await relay.drain()


class OcrConverter(Converter):
    name = "ocr"
    sources = (*IMAGE_SOURCES, "pdf")
    targets = ("pdf",)
    cost = 2  # seconds of Tesseract per page, where the other image and PDF converters take milliseconds
    engine = "ocrmypdf"
    executables = ocrmypdf.EXECUTABLES
    install = ocrmypdf.INSTALL
    limits = {"max_input_bytes": 200 * 2**20, "timeout": 900}
    version = "1"

    def __init__(self) -> None:
        self.options = {
            "type": "object", "additionalProperties": False, "required": ["ocr"],
            "description": "A text layer by OCR (`ocr: true` picks this converter). Pages that have text already "
                           "are kept unless `force` or `redo` is set.",
            "properties": {
                "ocr": {"type": "boolean", "const": True, "description": "Add a text layer by OCR."},
                **ocr_options(ocrmypdf.languages()),
                "force": {"type": "boolean", "default": False,
                          "description": "OCR every page, pages with text too (they become images with a text "
                                         "layer)."},
                "redo": {"type": "boolean", "default": False,
                         "description": "Replace an earlier OCR text layer; other text is kept."},
                "pdfa": PDFA_OPTION},
            "not": {"anyOf": [{"required": ["force", "redo"], "properties": {"force": {"const": True},
                                                                             "redo": {"const": True}}},
                              {"required": ["redo", "deskew"], "properties": {"redo": {"const": True},
                                                                              "deskew": {"const": True}}}]}}

    def pairs(self):
        return [(source, "pdf") for source in self.sources]  # pdf -> pdf included: the same PDF, with text

    def availability(self) -> Availability:
        found = super().availability()
        if found.available and not ocrmypdf.languages():
            return Availability(False, "no Tesseract language is installed", "apt-get install tesseract-ocr-eng")
        return found

    def engine_version(self) -> str:
        known = self.__dict__.get("_engine_version")
        if known is None:  # an added language pack changes what the same options recognise
            known = self.__dict__["_engine_version"] = f"{super().engine_version()},{'+'.join(ocrmypdf.languages())}"
        return known

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        source = sniff(src, ctx.source_format)
        if source not in self.sources:
            raise UnsupportedMediaType(f"{self.name} does not read {source}")
        existing = "force" if options.get("force") else "redo" if options.get("redo") else "skip"
        await run_ocr(src, dst, source, settings_of(options, existing), ctx, pdfa=options.get("pdfa"))


async def to_markdown(src: Path, dst: Path, source: str, ctx: ConversionContext,
                      span: tuple[float, float] = (5, 100)) -> None:
    await worker.run_worker(MARKDOWN_WORKER, src, dst, source, {}, ctx, memory_bytes=MARKDOWN_MEMORY,
                            cpu_seconds=int(ctx.timeout) + 1, timeout=ctx.timeout, progress_span=span)


class PdfMarkdown(Converter):
    name = "pdf_markdown"
    sources = ("pdf",)
    targets = ("md",)
    limits = {"max_input_bytes": 200 * 2**20, "timeout": 900}
    version = "1"

    def __init__(self) -> None:
        self.options = {
            "type": "object", "additionalProperties": False,
            "description": "Headings, lists, tables and paragraphs read back from the PDF's layout; a scanned PDF "
                           "needs `ocr`.",
            "properties": {"ocr": {"type": "boolean", "default": False,
                                   "description": "OCR the pages without text first (a scanned PDF)."},
                           **ocr_options(ocrmypdf.languages())}}

    def engine_version(self) -> str:
        known = self.__dict__.get("_engine_version")
        if known is None:
            known = self.__dict__["_engine_version"] = (f"pdfplumber:{installed('pdfplumber')},"
                                                        f"{OcrConverter().engine_version()}")
        return known

    def availability(self) -> Availability:
        if installed("pdfplumber") == "missing":
            return Availability(False, "the Python package pdfplumber is not installed", "pip install pdfplumber")
        return Availability(True)

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        if sniff(src, ctx.source_format) != "pdf":
            raise UnsupportedMediaType(f"{self.name} reads PDF")
        if not options.get("ocr"):
            await check_pdf(src, ctx)
            await to_markdown(src, dst, "pdf", ctx)
            return
        if not OcrConverter().availability().available:
            raise ConversionFailed("OCR is not available on this server (OCRmyPDF or a Tesseract language is "
                                   "missing).")
        text_layer = ctx.workdir / "ocr-text-layer.pdf"
        await run_ocr(src, text_layer, "pdf", settings_of(options), ctx, span=(5, 80))
        await to_markdown(text_layer, dst, "pdf", ctx, span=(80, 100))


class PptxMarkdown(Converter):
    name = "pptx_markdown"
    sources = ("pptx",)
    targets = ("md",)
    limits = {"max_input_bytes": 100 * 2**20, "timeout": 300}
    options = {"type": "object", "properties": {}, "additionalProperties": False,
               "description": "Each slide's title as a heading, its bullets as lists, its tables as tables."}
    version = "1"

    def engine_version(self) -> str:
        return f"python-pptx:{installed('python-pptx')}"

    def availability(self) -> Availability:
        if installed("python-pptx") == "missing":
            return Availability(False, "the Python package python-pptx is not installed", "pip install python-pptx")
        return Availability(True)

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        if sniff(src, ctx.source_format) != "pptx":
            raise UnsupportedMediaType(f"{self.name} reads pptx")
        zipcheck.check_zip(src)
        await to_markdown(src, dst, "pptx", ctx)


def installed(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


@hookimpl
def anclora_register_converters():
    return [OcrConverter(), PdfMarkdown(), PptxMarkdown()]

