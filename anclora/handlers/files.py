"""/api/files: streaming uploads, listing, metadata, downloads with Range, deletion."""

from __future__ import annotations

import re
from typing import AsyncIterable

import tornado.web

from .. import files
from ..db.models import File
from ..db.owned import get_owned
from ..errors import RangeNotSatisfiable
from ..openapi import MOMENT, PAGE, STRING, Body, Reply, obj, operation
from ..uploads.plain import content_disposition
from .base import APIHandler
from .streaming import UPLOAD, UploadHandler

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
FILE = obj({"id": STRING, "filename": STRING, "size": {"type": "integer"}, "sha256": STRING, "content_type": STRING,
            "format": {"type": ["string", "null"]}, "created_at": MOMENT, "expires_at": MOMENT},
           required=("id", "filename", "size", "sha256", "content_type", "created_at"), closed=False)
DOWNLOAD = {
    200: Body("*/*", description="The file, as an attachment of its own type."),
    206: Body("*/*", description="The requested range (Content-Range)."),
    307: "With `s3_presigned_downloads`: the bytes are at Location, a presigned URL of the bucket.",
    304: None,  # If-None-Match named its ETag
    416: "The range lies outside the file.",
}
DOWNLOAD_HEADERS = {"Range": STRING, "If-Range": STRING, "If-None-Match": STRING}


@tornado.web.stream_request_body
class FilesHandler(UploadHandler):
    async def prepare(self) -> None:
        await super().prepare()
        if self.request.method == "POST":
            await self.start_upload()

    @operation({201: Reply(FILE, {"Location": "The new file."}), **UPLOAD["responses"]},
               uploads=UPLOAD["bodies"], query=obj(UPLOAD["query"]),
               headers=UPLOAD["headers"])
    async def post(self) -> None:
        """Upload one file (raw body or multipart/form-data with a part named `file`)."""
        record = await self.finish_upload()
        self.set_header("Location", f"/api/files/{record.id}")
        self.write_json(files.as_json(record), 201)

    @operation({200: obj({"files": {"type": "array", "items": FILE}}, required=("files",), closed=False)},
               query=obj(PAGE))
    async def get(self) -> None:
        """List the caller's files, newest first."""
        page = self.query()
        records = await files.list_owned(self.ctx, self.identity, limit=page["limit"], offset=page["offset"])
        self.write_json({"files": [files.as_json(r) for r in records]})


class FileHandler(APIHandler):
    @operation({200: FILE})
    async def get(self, file_id: str) -> None:
        """Metadata of one of the caller's files."""
        self.write_json(files.as_json(await get_owned(self.ctx, File, self.identity, file_id)))

    @operation({204: None})
    async def delete(self, file_id: str) -> None:
        """Delete one of the caller's files."""
        await files.delete_owned(self.ctx, self.identity, file_id)
        self.set_status(204)
        self.finish()


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for a single `bytes=` range; None to send the whole file."""
    match = _RANGE.match(header or "")
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
    return start, end


class FileContentHandler(APIHandler):
    @operation(DOWNLOAD, headers=DOWNLOAD_HEADERS)
    async def get(self, file_id: str) -> None:
        """The file's bytes, as an attachment, resumable with Range."""
        record = await get_owned(self.ctx, File, self.identity, file_id)
        await send_file(self, record, presigned=True)

    @operation({200: None, 206: None, 304: None, 307: None, 416: None}, headers=DOWNLOAD_HEADERS)
    async def head(self, file_id: str) -> None:
        """The download's headers without its bytes."""
        record = await get_owned(self.ctx, File, self.identity, file_id)
        await send_file(self, record, include_body=False, presigned=True)


async def send_file(handler: APIHandler, record, include_body: bool = True, filename: str | None = None,
                    presigned: bool = False, opened: AsyncIterable[bytes] | None = None) -> None:
    """Stream a stored file with ETag, Range, attachment disposition (under `filename` when given, else the file's
    own name), nosniff and a sandboxing CSP. `presigned`: a file that outlives the answer may be sent as a
    redirect to the bucket instead, when `s3_presigned_downloads` is on. `opened`: the file's whole bytes, opened
    by the caller (an answer to a POST, which is sent whole)."""
    etag = f'"{record.sha256}"'
    handler.set_header("ETag", etag)
    handler.set_header("Accept-Ranges", "bytes")
    handler.set_header("Content-Type", record.content_type)
    disposition = content_disposition(filename or record.filename)
    handler.set_header("Content-Disposition", disposition)
    handler.set_header("Content-Security-Policy", "sandbox; default-src 'none'")
    handler.set_header("Cache-Control", "private, max-age=0")
    if etag in (handler.request.headers.get("If-None-Match") or ""):
        handler.set_status(304)
        handler.finish()
        return
    if presigned and handler.ctx.settings.s3_presigned_downloads:
        url = handler.ctx.storage.download_url(record.storage_key, filename or record.filename,
                                               record.content_type, disposition)
        if url is not None:  # (Range and If-Range go along with the client to the bucket)
            handler.clear_header("Content-Type")
            handler.redirect(url, status=307)
            return
    byte_range = None
    if_range = handler.request.headers.get("If-Range")
    # (a Range is for GET alone, RFC 9110 14.2: an answer to a POST is sent whole)
    if handler.request.method in ("GET", "HEAD") and (if_range is None or if_range == etag):
        byte_range = parse_range(handler.request.headers.get("Range"), record.size)
    start, end = byte_range or (0, record.size - 1)
    if byte_range:
        handler.set_status(206)
        handler.set_header("Content-Range", f"bytes {start}-{end}/{record.size}")
    handler.set_header("Content-Length", str(max(0, end - start + 1)))
    if include_body and record.size:
        chunks = opened if opened is not None else handler.ctx.storage.read(record.storage_key, start, end,
                                                                            handler.ctx.settings.chunk_size)
        async for chunk in chunks:
            handler.write(chunk)
            await handler.flush()
    handler.finish()


default_handlers = [
    (r"/api/files", FilesHandler),
    (r"/api/files/([0-9a-f-]{36})", FileHandler),
    (r"/api/files/([0-9a-f-]{36})/content", FileContentHandler),
]
