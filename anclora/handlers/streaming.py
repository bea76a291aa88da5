"""UploadHandler: the streaming-upload half of a handler (checks in prepare, a chunk at a time, nothing left
behind when the client goes away or stalls)."""

from __future__ import annotations

import logging
from typing import Awaitable

import tornado.ioloop
import tornado.web

from .. import files
from ..errors import AncloraError, BadRequest, InsufficientStorage, PayloadTooLarge, RequestTimeout
from ..openapi import BINARY, STRING, Body, obj
from ..uploads.limit import upload_limit
from ..uploads.plain import Upload, filename_from_disposition, sanitize_filename
from .base import APIHandler

log = logging.getLogger("anclora.uploads")
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file's bytes
# After refusing a body mid-way, keep reading (and dropping) it this long before closing, so the client reads
# our answer instead of a connection reset (nginx's lingering close).
LINGER_SECONDS = 2.0
LINGER_BYTES = 8 * 1024 * 1024
# What an upload route declares (anclora.openapi.operation) for the part that is the upload's.
UPLOAD = {
    "bodies": (Body("application/octet-stream", description="The file's bytes as the body."),
               Body("multipart/form-data", obj({"file": BINARY}, required=("file",), closed=False),
                    "A form whose part named `file` is the file (other parts are ignored).")),
    "query": {"filename": {**STRING, "description": "The file's name (else Content-Disposition's, else `file`)."}},
    "headers": {"Content-Disposition": {**STRING, "description": "`attachment; filename=...` names the file."}},
    "responses": {408: "The body stalled for longer than the idle timeout.",
                  413: "The upload is larger than the caller may send (details: limit), or than the malware "
                       "scanner takes (`too_large_to_scan`).",
                  422: "The malware scanner found something in the file (`infected`; details: signature); "
                       "nothing was stored.",
                  429: "Too many uploads lately; try again after Retry-After.",
                  507: "The server's storage is full; try again after Retry-After."},
}


class UploadHandler(APIHandler):
    """Subclasses decorated with @tornado.web.stream_request_body await `start_upload()` in `prepare()` and
    `finish_upload()` from their method; the rest happens here."""

    upload: Upload | None = None
    refused = False
    durable = True  # fsync the bytes before the file is recorded (False: they are of no use after a crash)
    _idle_timer = None
    _last_activity = 0.0

    def declared_length(self) -> int | None:
        value = self.request.headers.get("Content-Length")
        if value is None:
            return None
        if not value.isdigit():
            raise BadRequest("Content-Length is not a number.")
        return int(value)

    async def start_upload(self) -> None:
        limit = await upload_limit(self.ctx, self.identity, self.declared_length())
        content_type = self.request.headers.get("Content-Type", "")
        body_limit = limit + (MULTIPART_OVERHEAD if content_type.startswith("multipart/") else 0)
        declared = self.declared_length()
        if declared is not None and declared > body_limit:
            self.ctx.metrics.quota_refusals.labels("upload_size").inc()
            raise PayloadTooLarge(f"The upload is larger than the {limit} bytes allowed.",
                                  details={"limit": limit, "declared": declared})
        self.check_room(declared)
        # Tornado drops the connection without an answer past this size, so leave room to answer and linger.
        self.request.connection.set_max_body_size(body_limit + LINGER_BYTES)
        self.upload = self.make_upload(content_type, limit)
        self._touch()

    def make_upload(self, content_type: str, limit: int):
        """What the body is fed to: one file (raw or the multipart part `file`); a subclass may read forms."""
        name = self.query().get("filename") or filename_from_disposition(
            self.request.headers.get("Content-Disposition"))
        return Upload(self.ctx.storage, content_type, limit, filename=name)

    def check_room(self, size: int | None) -> None:
        """Refuse at once an upload that would eat into the storage's reserve (`storage_min_free_bytes`)."""
        free = self.ctx.storage.free_bytes()
        if size is None or free is None:
            return
        room = free - self.ctx.settings.storage_min_free_bytes
        if size > room:
            self.ctx.metrics.quota_refusals.labels("storage_full").inc()
            raise InsufficientStorage(f"The server has no room for {size} more bytes now; try again later.",
                                      details={"declared": size}, headers={"Retry-After": "60"})

    def _touch(self) -> None:
        """Note activity. One timer per upload, re-armed only when it fires early (cheaper than per chunk)."""
        loop = tornado.ioloop.IOLoop.current()
        self._last_activity = loop.time()
        if self._idle_timer is None:
            self._idle_timer = loop.call_at(self._last_activity + self.ctx.settings.idle_timeout, self._check_idle)

    def _stop_timer(self) -> None:
        if self._idle_timer is not None:
            tornado.ioloop.IOLoop.current().remove_timeout(self._idle_timer)
            self._idle_timer = None

    def _check_idle(self) -> None:
        loop = tornado.ioloop.IOLoop.current()
        deadline = self._last_activity + self.ctx.settings.idle_timeout
        if loop.time() < deadline:
            self._idle_timer = loop.call_at(deadline, self._check_idle)
            return
        self._idle_timer = None
        # a client that stalls its sending may still be reading: tell it, then close
        self.refuse(RequestTimeout(f"No part of the body arrived for {self.ctx.settings.idle_timeout:g} s."))

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        """Take one chunk; returns an awaitable when storage needs a moment before the next (Tornado waits)."""
        if self.upload is None or self._finished:
            return None
        self._touch()
        try:
            self.upload.feed(chunk)
        except AncloraError as error:
            self.refuse(error)
            return None
        self.ctx.metrics.upload_bytes.inc(len(chunk))
        return self.upload.wait()

    def refuse(self, error: AncloraError) -> None:
        """Answer now, mid-body; drop the rest of the body for a moment, then close the connection."""
        log.warning("%s %s -> %s %s (mid-body)", self.request.method, self.request.path, error.status, error.code)
        self.discard_upload()
        self.refused = True
        self.clear()
        body = self.error_bytes(error)
        self.set_header("Content-Length", str(len(body)))
        self.set_header("Connection", "close")
        self.write(body)
        self.flush()
        tornado.ioloop.IOLoop.current().call_later(LINGER_SECONDS, self._end_linger)

    def _end_linger(self) -> None:
        if not self._finished:
            self.finish()

    async def finish_upload(self, save: bool = True):
        """Commit the bytes and record the file; returns the File row (`save=False`: examined but not written
        yet, for the caller to `files.save` when it needs it)."""
        self._stop_timer()
        if self.refused:
            raise tornado.web.Finish()
        upload = self.upload
        try:
            writer = await upload.commit(self.durable)
        except BaseException:
            self.discard_upload()
            raise
        self.upload = None
        filename = sanitize_filename(upload.filename)
        record = await files.examine(self.ctx, self.identity, key=writer.key, size=writer.size,
                                     sha256=writer.sha256, filename=filename, declared_type=upload.declared_type)
        return await files.save(self.ctx, record) if save else record

    def discard_upload(self) -> None:
        self._stop_timer()
        if self.upload is not None:
            self.upload.abort()
            self.upload = None

    def on_connection_close(self) -> None:
        self.discard_upload()
        super().on_connection_close()

    def on_finish(self) -> None:
        self.discard_upload()
        super().on_finish()
