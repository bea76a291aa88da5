"""Preflight for zip containers (docx, xlsx, pptx, odt, ods, odp, epub, zip) before any engine parses them.

The central directory is read first and checked: how many entries, how much they claim to unpack to, the ratio of
each entry, names that climb out (`..`, absolute paths, drive letters), symlinks, duplicate names. Then every entry
is inflated once, in chunks, without keeping anything, under the same total budget: a header that lies about its
size ends in a CRC or size error here instead of inside LibreOffice or pandoc. Anything wrong raises
ConversionFailed (422 `conversion_failed`) and no engine runs.

    from anclora.engines.zipcheck import ZIP_FORMATS, check_zip
    if fmt in ZIP_FORMATS:
        check_zip(src)
"""

from __future__ import annotations

import dataclasses
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..errors import ConversionFailed

ZIP_FORMATS = frozenset({"docx", "xlsx", "pptx", "odt", "ods", "odp", "epub", "zip", "htmlzip"})
EOCD = b"PK\x05\x06"
ZIP64_LOCATOR = b"PK\x06\x07"
ZIP64_EOCD = b"PK\x06\x06"
CHUNK = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class ZipLimits:
    max_entries: int = 10_000
    max_total_bytes: int = 1024 * 2**20  # uncompressed, all entries together
    max_ratio: int = 200  # uncompressed / compressed, per entry ...
    ratio_floor: int = 4 * 2**20  # ... for entries that unpack to more than this (tiny files compress wildly)
    max_central_directory: int = 16 * 2**20
    inflate: bool = True  # inflate every entry once to catch sizes that lie


def _refuse(reason: str) -> ConversionFailed:
    return ConversionFailed("The archive inside this file is unsafe or damaged.", details={"reason": reason})


def _directory_size(path: Path) -> tuple[int, int]:
    """Entry count and central directory size from the end records, before zipfile builds its entry list."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        tail_start = max(0, size - (65535 + 22))
        handle.seek(tail_start)
        tail = handle.read()
        at = tail.rfind(EOCD)
        if at < 0 or len(tail) - at < 22:
            raise _refuse("no end of central directory record")
        entries, directory = struct.unpack("<xxxxxxxxxxHI", tail[at:at + 16])
        if entries != 0xFFFF and directory != 0xFFFFFFFF:
            return entries, directory
        locator = tail.rfind(ZIP64_LOCATOR, 0, at)
        if locator < 0:
            raise _refuse("zip64 sizes without a zip64 locator")
        (record_offset,) = struct.unpack("<Q", tail[locator + 8:locator + 16])
        handle.seek(record_offset)
        record = handle.read(56)
        if len(record) < 56 or not record.startswith(ZIP64_EOCD):
            raise _refuse("damaged zip64 end record")
        entries64, directory64 = struct.unpack("<QQ", record[32:48])
        return entries64, directory64


def _check_name(info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not name or "\x00" in name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise _refuse(f"entry with an absolute or invalid name: {name[:100]!r}")
    if ".." in parts:
        raise _refuse(f"entry that climbs out of the archive: {name[:100]!r}")
    if info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16):
        raise _refuse(f"symbolic link entry: {name[:100]!r}")


def _check_directory(archive: zipfile.ZipFile, limits: ZipLimits) -> None:
    total = 0
    seen: set[str] = set()
    for info in archive.infolist():
        _check_name(info)
        if info.filename in seen:
            raise _refuse(f"duplicate entry: {info.filename[:100]!r}")
        seen.add(info.filename)
        total += info.file_size
        if total > limits.max_total_bytes:
            raise _refuse(f"unpacks to more than {limits.max_total_bytes} bytes")
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise _refuse(f"entry {info.filename[:100]!r} is compressed more than {limits.max_ratio}:1")


def _inflate_all(archive: zipfile.ZipFile) -> None:
    for info in archive.infolist():
        if info.is_dir():
            continue
        with archive.open(info) as entry:  # zipfile stops at the declared size and checks the CRC at the end
            while entry.read(CHUNK):
                pass


def check_zip(path: Path, limits: ZipLimits = ZipLimits()) -> None:
    """Raise ConversionFailed when the zip container at `path` is dangerous or damaged; return None when safe."""
    entries, directory = _directory_size(path)
    if entries > limits.max_entries:
        raise _refuse(f"more than {limits.max_entries} entries")
    if directory > limits.max_central_directory:
        raise _refuse("central directory too large")
    try:
        with zipfile.ZipFile(path) as archive:
            if len(archive.infolist()) > limits.max_entries:
                raise _refuse(f"more than {limits.max_entries} entries")
            _check_directory(archive, limits)
            if limits.inflate:
                _inflate_all(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError,
            RuntimeError, ValueError, OSError) as error:
        raise _refuse(f"damaged archive: {error}") from None
