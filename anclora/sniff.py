"""The type of a file, decided from its bytes (magic and structure), never from its name alone.

The name is only a hint between formats whose bytes cannot tell them apart (plain-text families such as md and
rst; the old OLE office formats).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import BinaryIO

CONTENT_TYPES = {
    "pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif",
    "webp": "image/webp", "bmp": "image/bmp", "tiff": "image/tiff", "ico": "image/x-icon",
    "avif": "image/avif", "heic": "image/heic", "svg": "image/svg+xml",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text", "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation", "epub": "application/epub+zip",
    "doc": "application/msword", "xls": "application/vnd.ms-excel", "ppt": "application/vnd.ms-powerpoint",
    "rtf": "application/rtf", "zip": "application/zip", "htmlzip": "application/zip",
    "parquet": "application/vnd.apache.parquet",
    "mp4": "video/mp4", "mov": "video/quicktime", "m4a": "audio/mp4", "webm": "video/webm",
    "mkv": "video/x-matroska", "avi": "video/x-msvideo", "wav": "audio/wav", "mp3": "audio/mpeg",
    "ogg": "audio/ogg", "opus": "audio/ogg", "flac": "audio/flac",
    "html": "text/html", "xml": "application/xml", "json": "application/json", "jsonl": "application/jsonl",
    "csv": "text/csv", "tsv": "text/tab-separated-values", "txt": "text/plain", "md": "text/markdown",
    "rst": "text/x-rst", "tex": "application/x-tex", "org": "text/org", "yaml": "application/yaml",
    "url": "text/uri-list",
    "bin": "application/octet-stream",
}

TEXT_FORMATS = {"txt", "md", "rst", "tex", "org", "csv", "tsv", "json", "jsonl", "yaml", "html", "xml", "svg", "url"}
OLE_FORMATS = {"doc", "xls", "ppt"}
ALIASES = {"jpg": "jpeg", "tif": "tiff", "htm": "html", "yml": "yaml", "markdown": "md", "text": "txt",
           "heif": "heic", "ndjson": "jsonl", "latex": "tex"}

ODF_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
    b"application/epub+zip": "epub",
}
OOXML_PARTS = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
ISO_BRANDS = {
    b"avif": "avif", b"avis": "avif", b"heic": "heic", b"heix": "heic", b"mif1": "heic", b"msf1": "heic",
    b"qt  ": "mov", b"M4A ": "m4a", b"M4B ": "m4a",
}


def normalize(fmt: str) -> str:
    fmt = fmt.lower().lstrip(".")
    return ALIASES.get(fmt, fmt)


def extension_of(name: str) -> str:
    return normalize(name.rsplit(".", 1)[1]) if "." in name else ""


def _zip_format(path: Path | BinaryIO) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype")[:100].strip()
                if mimetype in ODF_MIMETYPES:
                    return ODF_MIMETYPES[mimetype]
            for part, fmt in OOXML_PARTS.items():
                if part in names:
                    return fmt
            if "index.html" in names:
                return "htmlzip"  # a web page and its assets, as Gotenberg takes them
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, NotImplementedError):
        return "bin"
    return "zip"


def _text_format(head: bytes, hint: str) -> str | None:
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # a multi-byte character cut at the end of `head` is fine
            return None
        text = head[: error.start].decode("utf-8")
    stripped = text.lstrip("\ufeff \t\r\n").lower()
    if hint in TEXT_FORMATS:
        return hint
    if stripped.startswith(("<!doctype html", "<html")):
        return "html"
    if stripped.startswith("<svg") or (stripped.startswith("<?xml") and "<svg" in stripped[:1000]):
        return "svg"
    if stripped.startswith("<?xml"):
        return "xml"
    if stripped.startswith(("{", "[")):
        return "json"
    if stripped.startswith("{\\rtf"):
        return "rtf"
    return "txt"


def sniff(path: Path | BinaryIO, hint: str = "") -> str:
    """The format of the file at `path` (or of a seekable binary file object, read from its start); `hint` (an
    extension) only settles what bytes cannot."""
    hint = normalize(hint)
    if hasattr(path, "read"):
        path.seek(0)
        head = path.read(4096)
    else:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    if not head:
        return "bin"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"BM") and len(head) > 14:
        return "bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"\x00\x00\x01\x00"):
        return "ico"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"mif1", b"msf1") and b"avif" in head[16:int.from_bytes(head[:4], "big")]:
            return "avif"  # a generic HEIF brand whose compatible brands say AV1 (libavif writes these)
        if brand in ISO_BRANDS:
            return ISO_BRANDS[brand]
        return "m4a" if hint == "m4a" else "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "mkv"
    if head.startswith(b"OggS"):
        return "opus" if b"OpusHead" in head[:128] else "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"ID3") or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_format(path)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return hint if hint in OLE_FORMATS else "doc"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    return _text_format(head, hint) or "bin"


FAMILIES = {
    "document": ("pdf", "docx", "doc", "odt", "rtf", "txt", "md", "html", "epub", "rst", "tex", "org"),
    "spreadsheet": ("xlsx", "xls", "ods"),
    "presentation": ("pptx", "ppt", "odp"),
    "image": ("png", "jpeg", "webp", "gif", "bmp", "tiff", "ico", "avif", "heic", "svg"),
    "audio": ("mp3", "wav", "ogg", "flac", "m4a", "opus"),
    "video": ("mp4", "webm", "mkv", "mov", "avi"),
    "data": ("csv", "tsv", "json", "jsonl", "yaml", "xml", "parquet", "toml"),
    "archive": ("zip",),
}
_FAMILY_OF = {fmt: family for family, formats in FAMILIES.items() for fmt in formats}


def family(fmt: str) -> str:
    """The kind of file a format is (`document`, `image`, ...; `other` when unknown), for grouping formats."""
    return _FAMILY_OF.get(normalize(fmt), "other")


def content_type(fmt: str) -> str:
    ctype = CONTENT_TYPES.get(fmt, "application/octet-stream")
    return ctype + "; charset=utf-8" if fmt in TEXT_FORMATS and ctype.startswith("text/") else ctype


def matches(path: Path, expected: str) -> bool:
    """Whether the file's bytes fit `expected` (used to check an engine's output)."""
    expected = normalize(expected)
    found = sniff(path, expected)
    if found == expected:
        return True
    families = ({"mp4", "m4a", "mov"}, {"ogg", "opus"}, {"webm", "mkv"}, {"heic", "avif"})
    return any(found in family and expected in family for family in families)
