"""A PDF's document information read and written with pypdf, and forms and annotations flattened into its pages.
Used by `_pdf_worker.py` inside the sandbox.

Names follow ExifTool's, which Gotenberg's metadata routes answer with: `CreateDate` for /CreationDate and
`ModifyDate` for /ModDate; `CreationDate` and `ModDate` are accepted when writing too.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pypdf.generic import ArrayObject, BooleanObject, DictionaryObject, NameObject, StreamObject, TextStringObject

from anclora.engines.worker import Refused

DATE_KEYS = {"CreateDate": "/CreationDate", "CreationDate": "/CreationDate", "ModifyDate": "/ModDate",
             "ModDate": "/ModDate"}
READ_NAMES = {"/CreationDate": "CreateDate", "/ModDate": "ModifyDate"}
_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+-])?(\d{2})?'?(\d{2})?'?")
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
HIDDEN = 2  # annotation flag: never shown nor printed


def _exif_date(value: str) -> str:
    """'D:20240102030405+01'00'' -> '2024:01:02 03:04:05+01:00' (ExifTool's form); other text unchanged."""
    match = _PDF_DATE.match(value)
    if not match:
        return value
    year, month, day, hour, minute, second, sign, tz_hour, tz_minute = match.groups()
    text = f"{year}:{month or '01'}:{day or '01'} {hour or '00'}:{minute or '00'}:{second or '00'}"
    if sign in ("Z", "z"):
        return text + "Z"
    if sign:
        return text + f"{sign}{tz_hour or '00'}:{tz_minute or '00'}"
    return text


def read(reader, path) -> dict[str, Any]:
    """Document information, page count and version, as ExifTool names them."""
    data: dict[str, Any] = {}
    for key, value in (reader.metadata or {}).items():
        name = READ_NAMES.get(key, key.lstrip("/"))
        text = str(value)
        data[name] = _exif_date(text) if key in READ_NAMES else text
    data["PageCount"] = len(reader.pages)
    header = reader.pdf_header.lstrip("%PDF-")
    try:
        data["PDFVersion"] = float(header)
    except ValueError:
        pass
    return data


def _pdf_date(key: str, value: str) -> str:
    """An ISO 8601 or ExifTool date as a PDF date string; Refused for anything else."""
    if value.startswith("D:"):
        return value
    text = re.sub(r"^(\d{4}):(\d{2}):(\d{2})", r"\1-\2-\3", value.strip()).replace("Z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Refused("The metadata could not be written.", details={"reason": f"{key} is not a date"}) from None
    stamp = moment.strftime("D:%Y%m%d%H%M%S")
    offset = moment.utcoffset()
    if offset is None:
        return stamp
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{stamp}{sign}{abs(minutes) // 60:02d}'{abs(minutes) % 60:02d}'"


def _value(key: str, value: Any) -> str:
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    elif isinstance(value, bool):
        value = "True" if value else "False"
    text = str(value)
    if _CONTROL.search(text):
        raise Refused("The metadata could not be written.", details={"reason": f"{key} holds control characters"})
    return _pdf_date(key, text) if key in DATE_KEYS else text


def write(writer, metadata: dict[str, Any]) -> None:
    """Set each entry of `metadata` in the document information dictionary; `PDFVersion` sets the header's
    version and `Marked` the catalog's MarkInfo, where those live."""
    entries = {}
    metadata = dict(metadata)
    if "PDFVersion" in metadata:
        _version(writer, metadata.pop("PDFVersion"))
    if "Marked" in metadata:
        marked = metadata.pop("Marked")
        writer.root_object[NameObject("/MarkInfo")] = DictionaryObject(
            {NameObject("/Marked"): BooleanObject(marked is True or str(marked).lower() == "true")})
    for key, value in metadata.items():
        if not _KEY.match(key):
            raise Refused("The metadata could not be written.", details={"reason": f"{key[:40]!r} is not a name"})
        entries[DATE_KEYS.get(key, f"/{key}")] = _value(key, value)
    writer.add_metadata({name: TextStringObject(value) for name, value in entries.items()})


def _version(writer, value: Any) -> None:
    text = str(value)
    if not re.fullmatch(r"[12]\.[0-9]", text) or not 1.0 <= float(text) <= 2.0:
        raise Refused("The metadata could not be written.", details={"reason": "PDFVersion is not 1.0 to 2.0"})
    writer.pdf_header = f"%PDF-{text}"


def _appearance(annotation) -> StreamObject | None:
    """The normal appearance stream drawn for this annotation, if it has one and is visible."""
    if int(annotation.get("/F", 0)) & HIDDEN:
        return None
    appearance = annotation.get("/AP")
    normal = appearance.get_object().get("/N") if appearance is not None else None
    normal = normal.get_object() if normal is not None else None
    if isinstance(normal, DictionaryObject) and not isinstance(normal, StreamObject):
        state = annotation.get("/AS")
        normal = normal.get(state).get_object() if state is not None and state in normal else None
    return normal if isinstance(normal, StreamObject) else None


def _placement(annotation, stream) -> str:
    """The `cm` operands that map the appearance's bounding box onto the annotation's rectangle."""
    x1, y1, x2, y2 = (float(v) for v in annotation["/Rect"])
    bx1, by1, bx2, by2 = (float(v) for v in stream.get("/BBox", [0, 0, x2 - x1, y2 - y1]))
    sx = abs(x2 - x1) / (bx2 - bx1) if bx2 != bx1 else 1.0
    sy = abs(y2 - y1) / (by2 - by1) if by2 != by1 else 1.0
    return f"{sx:.6f} 0 0 {sy:.6f} {min(x1, x2) - bx1 * sx:.4f} {min(y1, y2) - by1 * sy:.4f}"


def _flatten_page(writer, page, number: int) -> None:
    annotations = page.get("/Annots")
    if annotations is None:
        return
    kept, drawn = ArrayObject(), []
    for ref in annotations.get_object():
        annotation = ref.get_object()
        stream = _appearance(annotation) if "/Rect" in annotation else None
        if stream is None:
            kept.append(ref)
            continue
        stream[NameObject("/Subtype")] = NameObject("/Form")
        name = f"/Flat{number}_{len(drawn)}"
        drawn.append(f"q {_placement(annotation, stream)} cm {name} Do Q")
        resources = page.setdefault(NameObject("/Resources"), DictionaryObject()).get_object()
        xobjects = resources.setdefault(NameObject("/XObject"), DictionaryObject()).get_object()
        xobjects[NameObject(name)] = writer._add_object(stream) if stream.indirect_reference is None else (
            stream.indirect_reference)
    if not drawn:
        return
    overlay = StreamObject()
    overlay.set_data(("\n".join(drawn) + "\n").encode())
    contents = page.get("/Contents")
    parts = ArrayObject([writer._add_object(_stream(b"q\n"))]) if contents is not None else ArrayObject()
    if contents is not None:
        resolved = contents.get_object()
        parts.extend(resolved if isinstance(resolved, ArrayObject) else [contents])
        parts.append(writer._add_object(_stream(b"Q\n")))
    parts.append(writer._add_object(overlay))
    page[NameObject("/Contents")] = parts
    if kept:
        page[NameObject("/Annots")] = kept
    else:
        del page["/Annots"]


def _stream(data: bytes) -> StreamObject:
    stream = StreamObject()
    stream.set_data(data)
    return stream


def flatten(writer) -> None:
    """Draw every visible annotation's appearance (form fields included) into its page, then drop the
    annotations drawn and the interactive form."""
    for number, page in enumerate(writer.pages):
        _flatten_page(writer, page, number)
    root = writer.root_object
    if "/AcroForm" in root:
        del root["/AcroForm"]
