"""A Gotenberg request body: multipart/form-data whose file parts (any field name, as Gotenberg reads them) stream
into storage one by one, and whose other parts are the form's fields."""

from __future__ import annotations

import dataclasses

from python_multipart.multipart import MultipartParser, parse_options_header

from ..errors import AncloraError, BadRequest, PayloadTooLarge
from ..storage import Storage, StorageWriter
from ..uploads.plain import PartHeaders, filename_from_disposition, sanitize_filename

MAX_FILES = 100
MAX_FIELD_BYTES = 256 * 1024  # all fields together: options are short, a metadata JSON is the longest


@dataclasses.dataclass
class StoredPart:
    filename: str
    declared_type: str | None
    writer: StorageWriter
    field: str = ""  # the form field it came in (Gotenberg reads a `watermark` or `stamp` file by it)


class GotenbergForm(PartHeaders):
    """Feed it the body a chunk at a time; `commit()` gives the stored files, `fields` the form's values.
    At most `limit` bytes of file content in all; the first field of a name wins, as Go's FormValue does, and
    `repeated` names the fields sent more than once."""

    def __init__(self, storage: Storage, content_type: str, limit: int):
        ctype, params = parse_options_header(content_type or "")
        if ctype != b"multipart/form-data" or not params.get(b"boundary"):
            raise BadRequest("Unsupported Media Type: the request must be multipart/form-data.")
        self.storage, self.limit = storage, limit
        self.parts: list[StoredPart] = []
        self.fields: dict[str, str] = {}
        self.repeated: set[str] = set()
        self.received = self.field_bytes = 0
        self.ended = False
        self._current: StoredPart | None = None
        self._field: tuple[str, bytearray] | None = None
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._parser = MultipartParser(params[b"boundary"], {
            "on_part_begin": self._part_begin, "on_header_field": self._header_field_cb,
            "on_header_value": self._header_value_cb, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end, "on_end": self._end})

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except AncloraError:
            raise
        except Exception as error:
            raise BadRequest(f"Malformed multipart body: {error}") from None

    def wait(self):
        """An awaitable while the file being written needs a moment before more bytes come, else None."""
        return self._current.writer.wait() if self._current is not None else None

    async def commit(self) -> list[StoredPart]:
        if not self.ended:
            raise BadRequest("The multipart body ended early.")
        for part in self.parts:
            await part.writer.commit()
        return self.parts

    def abort(self) -> None:
        for part in self.parts:
            part.writer.abort()
        self.parts = []

    # --- parser callbacks -------------------------------------------------------------------------------------

    def _headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition", b"")
        _, params = parse_options_header(disposition)
        filename = filename_from_disposition(disposition.decode("utf-8", "replace"))
        if filename is None:
            self._field = (params.get(b"name", b"").decode("utf-8", "replace"), bytearray())
            return
        if len(self.parts) == MAX_FILES:
            raise BadRequest(f"Invalid form data: more than {MAX_FILES} files.")
        ctype = self._headers.get(b"content-type")
        self._current = StoredPart(sanitize_filename(filename), ctype.decode("latin-1") if ctype else None,
                                   self.storage.writer(), params.get(b"name", b"").decode("utf-8", "replace"))
        self.parts.append(self._current)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current is not None:
            self.received += end - start
            if self.received > self.limit:
                raise PayloadTooLarge(f"The request body exceeds the {self.limit} bytes allowed.")
            self._current.writer.write(data[start:end])
        elif self._field is not None:
            self.field_bytes += end - start
            if self.field_bytes > MAX_FIELD_BYTES:
                raise BadRequest(f"Invalid form data: the fields exceed {MAX_FIELD_BYTES} bytes.")
            self._field[1].extend(data[start:end])

    def _part_end(self) -> None:
        if self._field is not None:
            name, value = self._field
            if name in self.fields:
                self.repeated.add(name)
            self.fields.setdefault(name, value.decode("utf-8", "replace"))
        self._current = self._field = None

    def _end(self) -> None:
        self.ended = True
