"""A streaming upload: raw body or multipart/form-data, written to storage chunk by chunk with sha256 on the fly."""

from __future__ import annotations

import logging
import re
import unicodedata
from email.message import Message
from urllib.parse import quote

from python_multipart.multipart import MultipartParser, parse_options_header

from ..errors import AncloraError, BadRequest, PayloadTooLarge
from ..storage import Storage, StorageWriter

log = logging.getLogger("anclora.uploads")

MAX_FILENAME_BYTES = 200
MAX_BOUNDARY_LENGTH = 256  # python-multipart's limit (RFC 2046 asks for at most 70)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069/\\:*?\"<>|]")


def sanitize_filename(name: str | None, default: str = "file") -> str:
    """A display name safe anywhere: no path, no control or bidi characters, at most 200 UTF-8 bytes."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        return default
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode()) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    budget = MAX_FILENAME_BYTES - len(suffix.encode())
    stem = stem.encode()[:budget].decode("utf-8", "ignore") or default
    return stem + suffix


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback plus the UTF-8 name."""
    fallback = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def filename_from_disposition(header: str | None) -> str | None:
    if not header:
        return None
    message = Message()
    message["Content-Disposition"] = header
    return message.get_filename()


class Upload:
    """Feed it the request body; it keeps no more than one chunk in memory.

    `limit` is the most bytes of file content accepted; crossing it raises PayloadTooLarge at once.
    """

    def __init__(self, storage: Storage, content_type: str, limit: int, filename: str | None = None):
        self.limit = limit
        self.filename = filename
        self.declared_type: str | None = None
        self.received = 0
        ctype, params = parse_options_header(content_type or "")
        self._parser = None
        if ctype == b"multipart/form-data":
            self._parser = _FilePartParser(params.get(b"boundary"), self)
        else:
            self.declared_type = ctype.decode("latin-1") or None
        self.writer: StorageWriter = storage.writer()  # (last: a refused header leaves no file behind)

    def feed(self, chunk: bytes) -> None:
        if self._parser is None:
            self.write(chunk)
        else:
            self._parser.write(chunk)

    def wait(self):
        """An awaitable while storage needs a moment before the next chunk, else None."""
        return self.writer.wait()

    def write(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > self.limit:
            raise PayloadTooLarge(f"The upload is larger than the {self.limit} bytes allowed.")
        self.writer.write(data)

    async def commit(self, durable: bool = True) -> StorageWriter:
        if self._parser is not None:
            self._parser.finish()
        await self.writer.commit(durable)
        return self.writer

    def abort(self) -> None:
        self.writer.abort()


class PartHeaders:
    """The multipart parser's header callbacks, shared by every form reader: `self._headers` holds the current
    part's headers (lower-case names) when `_headers_finished` is called."""

    def _part_begin(self) -> None:
        self._headers, self._header_field = {}, b""

    def _header_field_cb(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_cb(self, data: bytes, start: int, end: int) -> None:
        field = self._header_field.lower()
        self._headers[field] = self._headers.get(field, b"") + data[start:end]

    def _header_end(self) -> None:
        self._header_field = b""


class _FilePartParser(PartHeaders):
    """Streams the part named `file` into the upload; other parts are ignored."""

    def __init__(self, boundary: bytes | None, upload: Upload):
        if not boundary:
            raise BadRequest("multipart/form-data without a boundary.")
        if len(boundary) > MAX_BOUNDARY_LENGTH:
            raise BadRequest(f"The multipart boundary is longer than {MAX_BOUNDARY_LENGTH} characters.")
        self.upload = upload
        self.found = False
        self.ended = False
        self._in_file = False
        self._header_field = b""
        self._headers: dict[bytes, bytes] = {}
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field_cb,
            "on_header_value": self._header_value_cb,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        })

    def write(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except AncloraError:  # (too large, or the disk is full: not the body's fault)
            raise
        except Exception as error:
            raise BadRequest(f"Malformed multipart body: {error}") from None

    def finish(self) -> None:
        if not self.ended:
            raise BadRequest("The multipart body ended early.")
        if not self.found:
            raise BadRequest("No part named 'file' in the multipart body.")

    def _headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition", b"")
        _, params = parse_options_header(disposition)
        if params.get(b"name") == b"file" and not self.found:
            self.found = self._in_file = True
            filename = filename_from_disposition(disposition.decode("utf-8", "replace"))
            self.upload.filename = self.upload.filename or filename
            ctype = self._headers.get(b"content-type")
            self.upload.declared_type = ctype.decode("latin-1") if ctype else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.upload.write(data[start:end])

    def _part_end(self) -> None:
        self._in_file = False

    def _end(self) -> None:
        self.ended = True
