"""PDF conversions: pages to images and text/HTML with poppler; select, split, rotate, merge, flatten, watermark
and write metadata with pypdf; compress with Ghostscript; open, protect and linearize with qpdf. All run in the
sandbox: the programs directly (qpdf and Ghostscript through `anclora.engines.pdf_tools`), pypdf in
`_pdf_worker.py`.

Every PDF is checked before anything renders it: it must open (without a password, or with the one given to
`pdf_pages`, else 422 `password_required` / `password_incorrect`) and end with `%%EOF`; its page
tree is walked with a budget (a page-count bomb is refused before poppler walks it); the pages that will be
processed are capped by MediaBox × dpi when rasterised, by the inflated size of their content streams and by the
pixel count of their embedded images. Anything refused is a 422 `conversion_failed`.

Options, per converter (see each `options` schema):
- pdf → png | jpeg (`pdf_to_image`): one page as an image, `{"page": 1, "dpi": 150}`.
- pdf → zip (`pdf_to_images`): several pages, one image each, `{"pages": "1-3,5", "dpi": 150, "image_format": "png"}`.
- pdf → txt | html (`pdf_to_text`): the whole text, laid out (txt) or positioned (html, images left out).
- pdf → pdf (`pdf_pages`, the PDF tools): split/select `{"pages": "2-4"}`, rotate `{"rotate": 90}`, set document
  information `{"metadata": {"Title": "..."}}`, flatten forms and annotations into the pages `{"flatten": true}`,
  compress `{"compress": "medium", "image_quality": 60}`, watermark `{"watermark": {"text": "DRAFT"}}`, protect
  `{"protect": {"user_password": "..."}}`, remove a password `{"password": "..."}`, linearize `{"linearize": true}`.
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
from anclora.engines import pdf_tools, sandbox, worker

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


# the watermark's fonts (the standard 14 but Symbol and ZapfDingbats) and positions, as _pdf_watermark.py draws them
FONTS = ("Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique", "Times-Roman", "Times-Bold",
         "Times-Italic", "Times-BoldItalic", "Courier", "Courier-Bold", "Courier-Oblique", "Courier-BoldOblique")
POSITIONS = ("center", "top-left", "top", "top-right", "left", "right", "bottom-left", "bottom", "bottom-right")
METADATA_VALUE = {"type": ["string", "number", "boolean", "array"], "items": {"type": "string"}}
PASSWORD = {"type": "string", "maxLength": 127, "pattern": r"^[^\x00-\x1f\x7f]*$"}
WATERMARK = {"type": "object", "additionalProperties": False,
             "oneOf": [{"required": ["text"]}, {"required": ["image"]}],
             "description": "A text or an image drawn on the pages, sized as a fraction of the page width.",
             "properties": {
    "text": {"type": "string", "minLength": 1, "maxLength": 500,
             "description": "The text (Latin characters: the standard fonts' WinAnsi encoding)."},
    "image": {"type": "string", "contentEncoding": "base64", "maxLength": 960_000,
              "description": "A PNG or JPEG image, base64 (at most about 700 kB; transparency is kept)."},
    "font": {"type": "string", "enum": list(FONTS), "default": "Helvetica", "description": "The text's font."},
    "color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$", "default": "#808080",
              "description": "The text's colour, #RRGGBB."},
    "scale": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.5,
              "description": "The mark's width as a fraction of the page's width."},
    "opacity": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5,
                "description": "0 is invisible, 1 opaque."},
    "rotation": {"type": "number", "minimum": -360, "maximum": 360, "default": 45,
                 "description": "Counter-clockwise degrees, about the mark's centre."},
    "position": {"type": "string", "enum": list(POSITIONS), "default": "center",
                 "description": "Where on the page; at an edge, the turned mark stays inside it."},
    "layer": {"type": "string", "enum": ["over", "under"], "default": "over",
              "description": "Drawn over the page's content (a stamp) or under it (shows where the page is bare)."},
    "pages": {**PAGES, "description": "Pages of the output to mark, such as '1-3,5' (default: all)."}}}
PERMISSION_WORDS = {"allow_printing": "print it", "allow_copying": "copy its text and images",
                    "allow_modifying": "change it", "allow_annotating": "add comments",
                    "allow_filling_forms": "fill in its forms", "allow_assembling": "insert, remove or turn pages"}
PROTECT = {"type": "object", "additionalProperties": False, "anyOf": [
    {"required": ["user_password"]}, {"required": ["owner_password"]}],
    "description": "Protect the output with AES-256: the user password opens it, the owner password (the user's "
                   "when not given) lifts the restrictions.", "properties": {
    "user_password": {**PASSWORD, "description": "Needed to open the PDF; empty: it opens without one."},
    "owner_password": {**PASSWORD, "minLength": 1, "description": "Needed to change the permissions."},
    **{name: {"type": "boolean", "default": True, "description": f"Readers may {PERMISSION_WORDS[name]}."}
       for name in pdf_tools.PERMISSIONS}}}


class PdfPages(Converter):
    name = "pdf_pages"
    sources = ("pdf",)
    targets = ("pdf",)
    executables = ("qpdf", "gs")
    install = pdf_tools.INSTALL
    limits = {"max_input_bytes": 200 * 2**20}
    options = {"type": "object", "additionalProperties": False,
               "description": "PDF tools, applied in this order: open with `password`, `compress`, select `pages`, "
                              "`rotate`, `flatten`, `watermark`, `metadata`, then `protect` and/or `linearize`. "
                              "Without `protect`, the output has no password.", "properties": {
        "password": {**PASSWORD, "description": "Opens a protected input (its user or owner password)."},
        "compress": {"type": "string", "enum": list(pdf_tools.PDFSETTINGS),
                     "description": "Ghostscript's presets: images downsampled to 300 (low), 150 (medium) or 72 "
                                    "(high) dpi, fonts subset, streams compressed."},
        "image_quality": {"type": "integer", "minimum": 1, "maximum": 100,
                          "description": "Re-encode the images as JPEG at this quality (with `compress`, after its "
                                         "downsampling; without it, at their resolution)."},
        "pages": PAGES,
        "rotate": {"type": "integer", "enum": [0, 90, 180, 270], "default": 0,
                   "description": "Clockwise rotation added to every page kept."},
        "metadata": {"type": "object", "maxProperties": 50, "additionalProperties": METADATA_VALUE,
                     "description": "Document information entries such as Title, Author, Subject, Keywords, "
                                    "Creator, Producer, CreateDate, ModifyDate (dates in ISO 8601)."},
        "flatten": {"type": "boolean", "default": False,
                    "description": "Draw form fields and annotations into the pages and drop the form."},
        "watermark": WATERMARK,
        "protect": PROTECT,
        "linearize": {"type": "boolean", "default": False,
                      "description": "Linearize (fast web view): the first page shows before the rest arrives."}}}

    def pairs(self):
        return [("pdf", "pdf")]

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        steps = [ctx.workdir / f"step-{index}.pdf" for index in range(4)]
        try:
            await self.run_steps(src, dst, dict(options), ctx, steps)
        finally:
            for step in steps:
                step.unlink(missing_ok=True)

    async def run_steps(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext,
                        steps: list[Path]) -> None:
        """qpdf opens, Ghostscript compresses, pypdf checks and edits, qpdf protects and linearizes: each only
        when asked, each writing the next step's file."""
        protect, linearize = options.pop("protect", None), options.pop("linearize", False)
        if "password" in options:
            await pdf_tools.decrypt(src, steps[0], options.pop("password"), ctx.workdir, ctx.timeout)
            src = steps[0]
        compression = pdf_tools.Compression(options.pop("compress", None), options.pop("image_quality", None))
        if compression != pdf_tools.Compression():
            await pypdf(src, steps[3], ctx, "check")  # Ghostscript only reads what has passed the checks
            await pdf_tools.compress(src, steps[1], compression, ctx.workdir, ctx.timeout)
            sandbox.verify_output(steps[1], "pdf")
            src = steps[1]
        await pypdf(src, steps[2], ctx, "pages", **options)  # the checks, and the page operations asked for
        if protect or linearize:
            await pdf_tools.finish(steps[2], dst, protect, linearize, ctx.workdir, ctx.timeout)
        else:
            steps[2].replace(dst)


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
