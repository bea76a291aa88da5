"""PDF conversions: pages to images and text/HTML with poppler (in the sandbox); select, split, rotate and merge
pages with pypdf.

Every PDF is checked before anything renders it: it must open without a password and end with `%%EOF`; its page
tree is walked with a budget (a page-count bomb is refused before poppler walks it); the pages that will be
processed are capped by MediaBox × dpi when rasterised, by the inflated size of their content streams and by the
pixel count of their embedded images. Anything refused is a 422 `conversion_failed`.

Options, per converter (see each `options` schema):
- pdf → png | jpeg (`pdf_to_image`): one page as an image, `{"page": 1, "dpi": 150}`.
- pdf → zip (`pdf_to_images`): several pages, one image each, `{"pages": "1-3,5", "dpi": 150, "image_format": "png"}`.
- pdf → txt | html (`pdf_to_text`): the whole text, laid out (txt) or positioned (html, images left out).
- pdf → pdf (`pdf_pages`): split/select `{"pages": "2-4"}` and/or rotate `{"rotate": 90}`.
- zip → pdf (`pdf_merge`): the PDFs inside the zip, in name order, merged into one.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

from anclora import ConversionContext, ConversionFailed, Converter, hookimpl
from anclora.conversion import sandbox, zipcheck

MAX_PAGES = 2000  # pages in one document (or in a merge)
MAX_RENDER_PAGES = 100  # pages rasterised by one conversion
MAX_PAGE_PIXELS = 40_000_000  # one rendered page (A4 at 300 dpi is 8.7 million)
MAX_IMAGE_PIXELS = 100_000_000  # one embedded image, which poppler decodes whole
MAX_STREAM_BYTES = 256 * 2**20  # inflated content streams of the pages processed
MAX_MERGE_FILES = 100
MAX_XOBJECT_DEPTH = 8
POPPLER_LIMITS = sandbox.Limits(cpu_seconds=300, file_bytes=512 * 2**20, memory_bytes=2 * 2**30)
POPPLER_INSTALL = "apt-get install poppler-utils"
PAGES_PATTERN = r"^\s*\d*\s*(-\s*\d*\s*)?(,\s*\d*\s*(-\s*\d*\s*)?)*$"


def refuse(reason: str) -> ConversionFailed:
    return ConversionFailed("This PDF cannot be processed.", details={"reason": reason})


def parse_pages(spec: str | None, count: int) -> list[int]:
    """'1-3,5,8-' -> [1, 2, 3, 5, 8, ..., count]: 1-based, in the order given, each page once."""
    if not spec:
        return list(range(1, count + 1))
    pages: list[int] = []
    for part in spec.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*|\s*(\d*)\s*-\s*(\d*)\s*", part)
        if not match:
            raise refuse(f"not a page range: {part[:40]!r}")
        if match.group(1):
            first = last = int(match.group(1))
        else:
            first, last = int(match.group(2) or 1), int(match.group(3) or count)
        if not 1 <= first <= last <= count:
            raise refuse(f"pages {part.strip()} are outside 1-{count}")
        pages.extend(range(first, last + 1))
    return list(dict.fromkeys(pages))


def _pdf_reader(path: Path):
    from pypdf import PdfReader

    with open(path, "rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - 4096))
        if b"%%EOF" not in handle.read():
            raise refuse("the file is truncated (no %%EOF at its end)")
    reader = PdfReader(path, strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise refuse("the PDF is encrypted with a password")
    return reader


def _walk_page_tree(reader) -> int:
    """Count pages by walking the tree ourselves, refusing bombs (shared or cyclic subtrees, huge /Kids)."""
    root = reader.trailer["/Root"].get_object()["/Pages"].get_object()
    if int(root.get("/Count", 0)) > MAX_PAGES:
        raise refuse(f"more than {MAX_PAGES} pages")
    stack = [root]
    pages = nodes = 0
    while stack:
        node = stack.pop().get_object()
        nodes += 1
        kids = node.get("/Kids")
        if kids is not None:
            kids = kids.get_object()
            if len(kids) + len(stack) > MAX_PAGES or nodes > 4 * MAX_PAGES:
                raise refuse(f"the page tree is larger than {MAX_PAGES} pages")
            stack.extend(kids)
        else:
            pages += 1
            if pages > MAX_PAGES:
                raise refuse(f"more than {MAX_PAGES} pages")
    return pages


def open_pdf(path: Path):
    """A pypdf reader for a PDF that passed the document-wide checks (ConversionFailed otherwise)."""
    from pypdf.errors import PyPdfError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns about every repairable oddity of real-world files
            reader = _pdf_reader(path)
            if _walk_page_tree(reader) == 0:
                raise refuse("the PDF has no pages")
            len(reader.pages)  # pypdf's own walk, now known to be bounded
        return reader
    except ConversionFailed:
        raise
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, RecursionError, OSError,
            zlib.error) as error:
        raise refuse(f"damaged PDF ({type(error).__name__})") from None


def _inflated_size(stream, budget: int) -> int:
    """Bytes the stream inflates to, counting no further than `budget` (a zip bomb stays compressed)."""
    raw = getattr(stream, "_data", b"") or b""  # pypdf keeps the encoded bytes here
    filters = stream.get("/Filter")
    filters = [filters] if not isinstance(filters, list) else list(filters)
    if filters != ["/FlateDecode"]:
        return len(raw)
    inflater, total = zlib.decompressobj(), 0
    chunk = inflater.decompress(raw, 1 << 20)
    while chunk:
        total += len(chunk)
        if total > budget:
            return total
        chunk = inflater.decompress(inflater.unconsumed_tail, 1 << 20)
    return total


class _Budget:
    """What the processed pages may still inflate to, and the shared objects already looked at."""

    def __init__(self) -> None:
        self.left = MAX_STREAM_BYTES
        self.seen: set[int] = set()

    def first_visit(self, ref) -> bool:
        """False for an indirect object seen before (a letterhead on every page is counted once)."""
        number = getattr(ref, "idnum", None)
        if number in self.seen:
            return False
        if number is not None:
            self.seen.add(number)
        return True

    def spend(self, stream) -> None:
        self.left -= _inflated_size(stream, self.left)
        if self.left < 0:
            raise refuse(f"its content inflates to more than {MAX_STREAM_BYTES} bytes")


def _check_resources(resources, budget: _Budget, depth: int = 0) -> None:
    resources = resources.get_object() if resources is not None else None
    xobjects = resources.get("/XObject") if resources else None
    for ref in (xobjects.get_object().values() if xobjects else ()):
        if not budget.first_visit(ref):
            continue
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Image":
            if int(xobject.get("/Width", 0)) * int(xobject.get("/Height", 0)) > MAX_IMAGE_PIXELS:
                raise refuse(f"an embedded image is larger than {MAX_IMAGE_PIXELS} pixels")
        elif xobject.get("/Subtype") == "/Form" and depth < MAX_XOBJECT_DEPTH:
            budget.spend(xobject)
            _check_resources(xobject.get("/Resources"), budget, depth + 1)


def check_pages(reader, pages: list[int], dpi: int | None = None) -> None:
    """Per-page caps for the pages about to be processed: pixels when rasterised, streams, images."""
    budget = _Budget()
    try:
        for number in pages:
            page = reader.pages[number - 1]
            if dpi is not None:
                unit = float(page.get("/UserUnit", 1))
                box = page.mediabox
                pixels = abs(float(box.width)) * abs(float(box.height)) * (unit * dpi / 72) ** 2
                if pixels > MAX_PAGE_PIXELS:
                    raise refuse(f"page {number} would be {int(pixels)} pixels at {dpi} dpi "
                                 f"(at most {MAX_PAGE_PIXELS})")
            contents = page.get("/Contents")
            resolved = contents.get_object() if contents is not None else []
            for ref in (resolved if isinstance(resolved, list) else [contents]):
                if budget.first_visit(ref):
                    budget.spend(ref.get_object())
            _check_resources(page.get("/Resources"), budget)
    except ConversionFailed:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, zlib.error) as error:
        raise refuse(f"damaged page ({type(error).__name__})") from None


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

    async def prepare(self, src: Path, pages: str | None = None, dpi: int | None = None, cap: int = MAX_PAGES):
        reader = await asyncio.to_thread(open_pdf, src)
        selected = parse_pages(pages, len(reader.pages))
        if len(selected) > cap:
            raise refuse(f"more than {cap} pages selected")
        await asyncio.to_thread(check_pages, reader, selected, dpi)
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
        [page] = await self.prepare(src, str(options.get("page", 1)), dpi)
        await render_page(src, page, dpi, ctx.target_format, dst, ctx)
        sandbox.verify_output(dst, ctx.target_format)


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
        selected = await self.prepare(src, options.get("pages"), dpi, cap=MAX_RENDER_PAGES)
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
        sandbox.verify_output(dst, "zip")


class PdfToText(PopplerConverter):
    name = "pdf_to_text"
    sources = ("pdf",)
    targets = ("txt", "html")
    executables = ("pdftotext", "pdftohtml")

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        await self.prepare(src)
        if ctx.target_format == "txt":
            await poppler(["pdftotext", "-enc", "UTF-8", "-layout", "-q", str(src), str(dst)], ctx)
        else:
            base = dst.with_name("html-output")
            await poppler(["pdftohtml", "-s", "-noframes", "-i", "-q", "-enc", "UTF-8", str(src), str(base)], ctx)
            base.with_suffix(".html").replace(dst)
        sandbox.verify_output(dst, ctx.target_format)


def _write_pages(src: Path, dst: Path, spec: str | None, rotate: int) -> None:
    from pypdf import PdfWriter

    reader = open_pdf(src)
    selected = parse_pages(spec, len(reader.pages))
    check_pages(reader, selected)
    writer = PdfWriter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for number in selected:
            page = writer.add_page(reader.pages[number - 1])
            if rotate:
                page.rotate(rotate)
        writer.write(dst)


class PdfPages(Converter):
    name = "pdf_pages"
    sources = ("pdf",)
    targets = ("pdf",)
    limits = {"max_input_bytes": 200 * 2**20}
    options = {"type": "object", "additionalProperties": False,
               "description": "Split or select pages (`pages`) and rotate them (`rotate`).", "properties": {
        "pages": PAGES,
        "rotate": {"type": "integer", "enum": [0, 90, 180, 270], "default": 0,
                   "description": "Clockwise rotation added to every page kept."}}}

    def pairs(self):
        return [("pdf", "pdf")]

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        await asyncio.to_thread(_write_pages, src, dst, options.get("pages"), options.get("rotate", 0))
        sandbox.verify_output(dst, "pdf")


def _merge(src: Path, dst: Path, folder: Path) -> None:
    from pypdf import PdfWriter

    zipcheck.check_zip(src)
    parts = []
    with zipfile.ZipFile(src) as archive:
        names = sorted(info.filename for info in archive.infolist() if not info.is_dir())
        for name in names:
            with archive.open(name) as entry:
                if entry.read(5) != b"%PDF-":
                    continue  # readme files, thumbnails and the like are not merged
            if len(parts) == MAX_MERGE_FILES:
                raise refuse(f"more than {MAX_MERGE_FILES} PDFs to merge")
            part = folder / f"part-{len(parts):04d}.pdf"  # generated names: nothing from the archive is a path
            with archive.open(name) as entry, open(part, "wb") as out:
                shutil.copyfileobj(entry, out)
            parts.append(part)
    if not parts:
        raise refuse("the zip holds no PDF")
    writer, total = PdfWriter(), 0
    for part in parts:
        reader = open_pdf(part)
        total += len(reader.pages)
        if total > MAX_PAGES:
            raise refuse(f"the merged PDF would have more than {MAX_PAGES} pages")
        check_pages(reader, list(range(1, len(reader.pages) + 1)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            writer.append(reader)
    writer.write(dst)


class PdfMerge(Converter):
    name = "pdf_merge"
    sources = ("zip",)
    targets = ("pdf",)
    limits = {"max_input_bytes": 200 * 2**20}
    options = {"type": "object", "properties": {}, "additionalProperties": False,
               "description": f"Merges the PDFs inside the zip (at most {MAX_MERGE_FILES}) in the order of their "
                              "entry names; entries that are not PDFs are ignored."}

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        folder = ctx.workdir / "merge"
        folder.mkdir()
        await asyncio.to_thread(_merge, src, dst, folder)
        sandbox.verify_output(dst, "pdf")


@hookimpl
def anclora_register_converters():
    return [PdfToImage(), PdfToImages(), PdfToText(), PdfPages(), PdfMerge()]
