"""The PDF worker: pypdf's checks and page operations, run by plugins/pdf.py in the sandbox.

Usage: python _pdf_worker.py SRC DST pdf TARGET OPTIONS_JSON, where OPTIONS carry `operation` and the plugin's
caps (`limits`):
- "check": open the PDF, select `pages`, apply the per-page caps (pixels at `dpi` when given); writes
  `{"pages": [...]}` as JSON to DST. What poppler renders has passed this first.
- "pages": the selected `pages` of SRC, each turned by `rotate`, written as a new PDF to DST; `metadata` sets
  document information entries, `flatten` draws form fields and annotations into the pages, `watermark` draws
  a text or an image on them (`_pdf_watermark.py`).
- "merge": the PDFs inside the zip SRC, in name order, merged into DST.
- "split": SRC (a PDF, or with `zipped` a zip of PDFs) cut into parts of `span` pages (`mode` "intervals") or
  one part per selected page (`mode` "pages", `span` a page list), written as `<stem>_<n>.pdf` entries of the
  zip DST (the stem is the option `stem`, or each PDF's name in the zip).
- "metadata": the document information of SRC, its page count and PDF version, as JSON in DST.
Refusals carry `{"reason": ...}` as details; a PDF that needs a password is refused with the code
`password_required` (the plugin opens it with qpdf first when the password is given).
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
import zipfile
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError

import _pdf_metadata as pdf_metadata
import _pdf_watermark as pdf_watermark
from anclora.engines import zipcheck
from anclora.engines.worker import Refused, serve

CAPS = SimpleNamespace()  # the plugin's caps for this conversion: MAX_PAGES, MAX_STREAM_BYTES, ...


def convert(src: Path, dst: Path, source: str, target: str, options: dict[str, Any]) -> None:
    vars(CAPS).update(options["limits"])
    operation = options["operation"]
    if operation == "check":
        reader = open_pdf(src)
        selected = parse_pages(options.get("pages"), len(reader.pages))
        cap = options.get("cap", CAPS.MAX_PAGES)
        if len(selected) > cap:
            raise refuse(f"more than {cap} pages selected")
        check_pages(reader, selected, options.get("dpi"))
        dst.write_text(json.dumps({"pages": selected}))
    elif operation == "pages":
        write_pages(src, dst, options)
    elif operation == "split":
        documents = unpack_pdfs(src, dst.parent / "documents") if options.get("zipped") else [
            (options.get("stem") or "document", src)]
        split(documents, dst, options["mode"], options["span"])
    elif operation == "metadata":
        dst.write_text(json.dumps(pdf_metadata.read(open_pdf(src), src), ensure_ascii=False))
    elif operation == "merge":
        merge(src, dst, dst.parent / "merge")
    else:
        raise ValueError(f"unknown operation {operation!r}")


def refuse(reason: str) -> Refused:
    return Refused("This PDF cannot be processed.", details={"reason": reason})


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
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - 4096))
        if b"%%EOF" not in handle.read():
            raise refuse("the file is truncated (no %%EOF at its end)")
    reader = PdfReader(path, strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise Refused("This PDF is protected by a password: open it first with the `password` option of the "
                      "pdf → pdf conversion (`pdf_pages`).",
                      code="password_required", details={"reason": "the PDF is encrypted with a password"})
    return reader


def _walk_page_tree(reader) -> int:
    """Count pages by walking the tree ourselves, refusing bombs (shared or cyclic subtrees, huge /Kids)."""
    root = reader.trailer["/Root"].get_object()["/Pages"].get_object()
    if int(root.get("/Count", 0)) > CAPS.MAX_PAGES:
        raise refuse(f"more than {CAPS.MAX_PAGES} pages")
    stack = [root]
    pages = nodes = 0
    while stack:
        node = stack.pop().get_object()
        nodes += 1
        kids = node.get("/Kids")
        if kids is not None:
            kids = kids.get_object()
            if len(kids) + len(stack) > CAPS.MAX_PAGES or nodes > 4 * CAPS.MAX_PAGES:
                raise refuse(f"the page tree is larger than {CAPS.MAX_PAGES} pages")
            stack.extend(kids)
        else:
            pages += 1
            if pages > CAPS.MAX_PAGES:
                raise refuse(f"more than {CAPS.MAX_PAGES} pages")
    return pages


def open_pdf(path: Path):
    """A pypdf reader for a PDF that passed the document-wide checks (Refused otherwise)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns about every repairable oddity of real-world files
            reader = _pdf_reader(path)
            if _walk_page_tree(reader) == 0:
                raise refuse("the PDF has no pages")
            len(reader.pages)  # pypdf's own walk, now known to be bounded
        return reader
    except Refused:
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
        self.left = CAPS.MAX_STREAM_BYTES
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
            raise refuse(f"its content inflates to more than {CAPS.MAX_STREAM_BYTES} bytes")


def _check_resources(resources, budget: _Budget, depth: int = 0) -> None:
    resources = resources.get_object() if resources is not None else None
    xobjects = resources.get("/XObject") if resources else None
    for ref in (xobjects.get_object().values() if xobjects else ()):
        if not budget.first_visit(ref):
            continue
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Image":
            if int(xobject.get("/Width", 0)) * int(xobject.get("/Height", 0)) > CAPS.MAX_IMAGE_PIXELS:
                raise refuse(f"an embedded image is larger than {CAPS.MAX_IMAGE_PIXELS} pixels")
        elif xobject.get("/Subtype") == "/Form" and depth < CAPS.MAX_XOBJECT_DEPTH:
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
                if pixels > CAPS.MAX_PAGE_PIXELS:
                    raise refuse(f"page {number} would be {int(pixels)} pixels at {dpi} dpi "
                                 f"(at most {CAPS.MAX_PAGE_PIXELS})")
            contents = page.get("/Contents")
            resolved = contents.get_object() if contents is not None else []
            for ref in (resolved if isinstance(resolved, list) else [contents]):
                if budget.first_visit(ref):
                    budget.spend(ref.get_object())
            _check_resources(page.get("/Resources"), budget)
    except Refused:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, zlib.error) as error:
        raise refuse(f"damaged page ({type(error).__name__})") from None


def write_pages(src: Path, dst: Path, options: dict[str, Any]) -> None:
    reader = open_pdf(src)
    selected = parse_pages(options.get("pages"), len(reader.pages))
    check_pages(reader, selected)
    rotate = options.get("rotate", 0)
    writer = PdfWriter(clone_from=reader) if len(selected) == len(reader.pages) and not options.get(
        "pages") else None  # the whole document keeps its forms, outline and information
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if writer is None:
            writer = PdfWriter()
            for number in selected:
                writer.add_page(reader.pages[number - 1])
        for page in writer.pages:
            if rotate:
                page.rotate(rotate)
        if options.get("flatten"):
            pdf_metadata.flatten(writer)
        if options.get("watermark"):
            marked = parse_pages(options["watermark"].get("pages"), len(writer.pages))
            pdf_watermark.apply(writer, options["watermark"], marked)
        if options.get("metadata"):
            pdf_metadata.write(writer, options["metadata"])
        writer.write(dst)


def _parts(reader, mode: str, span: str) -> list[list[int]]:
    count = len(reader.pages)
    if mode == "intervals":
        size = int(span)
        return [list(range(first, min(first + size, count + 1))) for first in range(1, count + 1, size)]
    return [[number] for number in parse_pages(span, count)]


def split(documents: list[tuple[str, Path]], dst: Path, mode: str, span: str) -> None:
    """Each document in parts of `span` pages, or one part per page of the list `span`, zipped in order."""
    piece = dst.parent / "part.pdf"  # pypdf writes to a seekable file; the zip takes it from there
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for stem, path in documents:
            reader = open_pdf(path)
            parts = _parts(reader, mode, span)
            check_pages(reader, sorted({number for part in parts for number in part}))
            for index, part in enumerate(parts):
                writer = PdfWriter()
                for number in part:
                    writer.add_page(reader.pages[number - 1])
                writer.write(piece)
                archive.write(piece, f"{stem}_{index}.pdf")
    piece.unlink(missing_ok=True)


def unpack_pdfs(src: Path, folder: Path) -> list[tuple[str, Path]]:
    """The PDFs inside the zip SRC, in name order, as (name's stem, extracted copy); other entries are skipped."""
    zipcheck.check_zip(src)
    folder.mkdir()
    parts = []
    with zipfile.ZipFile(src) as archive:
        names = sorted(info.filename for info in archive.infolist() if not info.is_dir())
        for name in names:
            with archive.open(name) as entry:
                if entry.read(5) != b"%PDF-":
                    continue  # readme files, thumbnails and the like are not merged
            if len(parts) == CAPS.MAX_MERGE_FILES:
                raise refuse(f"more than {CAPS.MAX_MERGE_FILES} PDFs")
            part = folder / f"part-{len(parts):04d}.pdf"  # generated names: nothing from the archive is a path
            with archive.open(name) as entry, open(part, "wb") as out:
                shutil.copyfileobj(entry, out)
            stem = re.sub(r"[^\w .()-]", "_", Path(name.replace("\\", "/")).stem)[:150] or "document"
            parts.append((stem, part))
    if not parts:
        raise refuse("the zip holds no PDF")
    return parts


def merge(src: Path, dst: Path, folder: Path) -> None:
    parts = [path for _, path in unpack_pdfs(src, folder)]
    writer, total = PdfWriter(), 0
    for part in parts:
        reader = open_pdf(part)
        total += len(reader.pages)
        if total > CAPS.MAX_PAGES:
            raise refuse(f"the merged PDF would have more than {CAPS.MAX_PAGES} pages")
        check_pages(reader, list(range(1, len(reader.pages) + 1)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            writer.append(reader)
    writer.write(dst)


if __name__ == "__main__":
    serve(convert)
