"""PDF conversions: pages to images and text/HTML with poppler; select, split, rotate and merge pages with pypdf.
Both run in the sandbox: poppler's programs directly, pypdf in `_pdf_worker.py`.

Every PDF is checked before anything renders it: it must open without a password and end with `%%EOF`; its page
tree is walked with a budget (a page-count bomb is refused before poppler walks it); the pages that will be
processed are capped by MediaBox × dpi when rasterised, by the inflated size of their content streams and by the
pixel count of their embedded images. Anything refused is a 422 `conversion_failed`.

Options, per converter (see each `options` schema):
- pdf → png | jpeg (`pdf_to_image`): one page as an image, `{"page": 1, "dpi": 150}`.
- pdf → zip (`pdf_to_images`): several pages, one image each, `{"pages": "1-3,5", "dpi": 150, "image_format": "png"}`.
- pdf → txt | html (`pdf_to_text`): the whole text, laid out (txt) or positioned (html, images left out).
- pdf → pdf (`pdf_pages`): split/select `{"pages": "2-4"}`, rotate `{"rotate": 90}`, set document information
  `{"metadata": {"Title": "..."}}`, flatten forms and annotations into the pages `{"flatten": true}`.
- zip → pdf (`pdf_merge`): the PDFs inside the zip, in name order, merged into one.
- pdf → json (`pdf_metadata`): the document information, page count and PDF version (ExifTool's names).
- pdf → zip (`pdf_split`, only when named): parts of N pages, or one PDF per listed page.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from anclora import ConversionContext, ConversionFailed, Converter, hookimpl
from anclora.engines import sandbox, worker

MAX_PAGES = 2000  # pages in one document (or in a merge)
MAX_RENDER_PAGES = 100  # pages rasterised by one conversion
MAX_PAGE_PIXELS = 40_000_000  # one rendered page (A4 at 300 dpi is 8.7 million)
MAX_IMAGE_PIXELS = 100_000_000  # one embedded image, which poppler decodes whole
MAX_STREAM_BYTES = 256 * 2**20  # inflated content streams of the pages processed
MAX_MERGE_FILES = 100
MAX_XOBJECT_DEPTH = 8
POPPLER_LIMITS = sandbox.Limits(cpu_seconds=300, file_bytes=512 * 2**20, memory_bytes=2 * 2**30)
PYPDF_MEMORY = 2 * 2**30
POPPLER_INSTALL = "apt-get install poppler-utils"
WORKER = Path(__file__).with_name("_pdf_worker.py")
PAGES_PATTERN = r"^\s*\d*\s*(-\s*\d*\s*)?(,\s*\d*\s*(-\s*\d*\s*)?)*$"


def caps() -> dict[str, int]:
    return {"MAX_PAGES": MAX_PAGES, "MAX_PAGE_PIXELS": MAX_PAGE_PIXELS, "MAX_IMAGE_PIXELS": MAX_IMAGE_PIXELS,
            "MAX_STREAM_BYTES": MAX_STREAM_BYTES, "MAX_MERGE_FILES": MAX_MERGE_FILES,
            "MAX_XOBJECT_DEPTH": MAX_XOBJECT_DEPTH}


async def pypdf(src: Path, dst: Path, ctx: ConversionContext, operation: str, **options: Any) -> None:
    """One operation of `_pdf_worker.py` (pypdf) in the sandbox, with this plugin's caps. The check before
    rendering counts for the first 5% of the conversion's progress; the page operations for all of it."""
    span = (0, 5) if operation == "check" else (5, 100)
    await worker.run_worker(WORKER, src, dst, "pdf", {"operation": operation, "limits": caps(), **options}, ctx,
                            memory_bytes=PYPDF_MEMORY, cpu_seconds=int(ctx.timeout) + 1, timeout=ctx.timeout,
                            progress_span=span)


async def poppler(argv: list[str], ctx: ConversionContext) -> None:
    result = await sandbox.run(argv, cwd=ctx.workdir, timeout=ctx.timeout, limits=POPPLER_LIMITS)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConversionFailed(f"{argv[0]} could not process this PDF",
                               details={"engine": lines[-1][:300] if lines else ""})


async def render_page(src: Path, number: int, dpi: int, fmt: str, out: Path, ctx: ConversionContext) -> None:
    base = out.with_suffix("")
    await poppler(["pdftoppm", f"-{'png' if fmt == 'png' else 'jpeg'}", "-r", str(dpi), "-f", str(number),
                   "-l", str(number), "-singlefile", str(src), str(base)], ctx)
    produced = base.with_suffix(".png" if fmt == "png" else ".jpg")
    if produced != out:
        produced.replace(out)


DPI = {"type": "integer", "minimum": 36, "maximum": 300, "default": 150, "description": "Resolution."}
PAGES = {"type": "string", "pattern": PAGES_PATTERN, "description": "Pages such as '1-3,5,8-' (default: all)."}


class PopplerConverter(Converter):
    engine = "poppler"
    install = POPPLER_INSTALL
    limits = {"max_input_bytes": 200 * 2**20}

    async def prepare(self, src: Path, ctx: ConversionContext, pages: str | None = None, dpi: int | None = None,
                      cap: int = MAX_PAGES) -> list[int]:
        """The selected pages, once the document and those pages have passed the checks."""
        report = ctx.workdir / "pdf-check.json"
        await pypdf(src, report, ctx, "check", pages=pages, dpi=dpi, cap=cap)
        selected = json.loads(report.read_text())["pages"]
        report.unlink()
        return selected


class PdfToImage(PopplerConverter):
    name = "pdf_to_image"
    sources = ("pdf",)
    targets = ("png", "jpeg")
    executables = ("pdftoppm",)
    options = {"type": "object", "additionalProperties": False, "properties": {
        "page": {"type": "integer", "minimum": 1, "default": 1, "description": "The page to render."},
        "dpi": DPI}}

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        dpi = options.get("dpi", 150)
        [page] = await self.prepare(src, ctx, str(options.get("page", 1)), dpi)
        await render_page(src, page, dpi, ctx.target_format, dst, ctx)


class PdfToImages(PopplerConverter):
    name = "pdf_to_images"
    sources = ("pdf",)
    targets = ("zip",)
    executables = ("pdftoppm",)
    options = {"type": "object", "additionalProperties": False, "properties": {
        "pages": PAGES, "dpi": DPI,
        "image_format": {"type": "string", "enum": ["png", "jpeg"], "default": "png"}}}

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        dpi, fmt = options.get("dpi", 150), options.get("image_format", "png")
        selected = await self.prepare(src, ctx, options.get("pages"), dpi, cap=MAX_RENDER_PAGES)
        folder = ctx.workdir / "pages"
        folder.mkdir()
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as archive:  # images are compressed already
            for done, number in enumerate(selected, 1):
                image = folder / f"page-{number:04d}.{fmt}"
                await render_page(src, number, dpi, fmt, image, ctx)
                sandbox.verify_output(image, fmt)
                archive.write(image, image.name)
                image.unlink()
                await ctx.progress(100 * done / len(selected))


class PdfToText(PopplerConverter):
    name = "pdf_to_text"
    sources = ("pdf",)
    targets = ("txt", "html")
    executables = ("pdftotext", "pdftohtml")

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        await self.prepare(src, ctx)
        if ctx.target_format == "txt":
            await poppler(["pdftotext", "-enc", "UTF-8", "-layout", "-q", str(src), str(dst)], ctx)
        else:
            base = dst.with_name("html-output")
            await poppler(["pdftohtml", "-s", "-noframes", "-i", "-q", "-enc", "UTF-8", str(src), str(base)], ctx)
            base.with_suffix(".html").replace(dst)


METADATA_VALUE = {"type": ["string", "number", "boolean", "array"], "items": {"type": "string"}}


class PdfPages(Converter):
    name = "pdf_pages"
    sources = ("pdf",)
    targets = ("pdf",)
    limits = {"max_input_bytes": 200 * 2**20}
    options = {"type": "object", "additionalProperties": False,
               "description": "Split or select pages (`pages`), rotate them (`rotate`), set document information "
                              "(`metadata`), draw forms and annotations into the pages (`flatten`).", "properties": {
        "pages": PAGES,
        "rotate": {"type": "integer", "enum": [0, 90, 180, 270], "default": 0,
                   "description": "Clockwise rotation added to every page kept."},
        "metadata": {"type": "object", "maxProperties": 50, "additionalProperties": METADATA_VALUE,
                     "description": "Document information entries such as Title, Author, Subject, Keywords, "
                                    "Creator, Producer, CreateDate, ModifyDate (dates in ISO 8601)."},
        "flatten": {"type": "boolean", "default": False,
                    "description": "Draw form fields and annotations into the pages and drop the form."}}}

    def pairs(self):
        return [("pdf", "pdf")]

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        await pypdf(src, dst, ctx, "pages", **options)


class PdfMetadata(Converter):
    name = "pdf_metadata"
    sources = ("pdf",)
    targets = ("json",)
    limits = {"max_input_bytes": 200 * 2**20}
    options = {"type": "object", "properties": {}, "additionalProperties": False,
               "description": "The document information, PageCount and PDFVersion as one JSON object."}

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        await pypdf(src, dst, ctx, "metadata")


class PdfSplit(Converter):
    name = "pdf_split"
    sources = ("pdf", "zip")
    targets = ("zip",)
    on_request = True  # pdf -> zip is pdf_to_images unless a caller asks for this one
    limits = {"max_input_bytes": 200 * 2**20}
    options = {"type": "object", "additionalProperties": False, "required": ["mode", "span"],
               "description": "Parts of `span` pages (`intervals`), or one PDF per page listed in `span` (`pages`), "
                              "zipped as `<stem>_<n>.pdf`; a zip of PDFs has each one split, named after its "
                              "entry.", "properties": {
        "mode": {"type": "string", "enum": ["intervals", "pages"]},
        "span": {"type": "string", "maxLength": 1000},
        "stem": {"type": "string", "maxLength": 150, "pattern": r"^[^/\\\x00-\x1f]*$"}},
        "if": {"properties": {"mode": {"const": "intervals"}}},
        "then": {"properties": {"span": {"pattern": r"^\s*[1-9][0-9]{0,5}\s*$"}}},
        "else": {"properties": {"span": {"pattern": PAGES_PATTERN}}}}

    def pairs(self):
        return [("pdf", "zip"), ("zip", "zip")]

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        await pypdf(src, dst, ctx, "split", zipped=ctx.source_format == "zip", **options)


class PdfMerge(Converter):
    name = "pdf_merge"
    sources = ("zip",)
    targets = ("pdf",)
    limits = {"max_input_bytes": 200 * 2**20}
    options = {"type": "object", "properties": {}, "additionalProperties": False,
               "description": f"Merges the PDFs inside the zip (at most {MAX_MERGE_FILES}) in the order of their "
                              "entry names; entries that are not PDFs are ignored."}

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        await pypdf(src, dst, ctx, "merge")


@hookimpl
def anclora_register_converters():
    return [PdfToImage(), PdfToImages(), PdfToText(), PdfPages(), PdfMerge(), PdfMetadata(), PdfSplit()]
