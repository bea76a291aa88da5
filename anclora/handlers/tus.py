"""/api/uploads/: resumable uploads over tus 1.0.0 (core, creation, creation-with-upload, termination, checksum,
expiration). The bytes of each request are appended at the upload's offset as they arrive; what a client that
goes away had sent stays (unless it came with a checksum), so it can resume from `HEAD`'s `Upload-Offset`."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Awaitable

import tornado.web

from ..errors import (AncloraError, BadRequest, Conflict, PayloadTooLarge, UnsupportedMediaType)
from ..openapi import MOMENT, STRING, Body, Reply, obj, operation
from ..storage import Appender
from ..uploads import tus
from ..uploads.limit import upload_limit
from .streaming import LINGER_BYTES, UploadHandler

log = logging.getLogger("anclora.uploads")
OCTETS = "application/offset+octet-stream"
_COUNT = re.compile(r"[0-9]{1,18}")  # ASCII digits only, and within a 64-bit column
OVERRIDABLE = ("PATCH", "DELETE")  # tus core: X-HTTP-Method-Override on a POST, for clients that cannot send these
COUNT = {"type": "string", "pattern": "^[0-9]{1,18}$"}
TUS_HEADERS = {"Tus-Resumable": {"enum": [tus.VERSION], "required": True},
               "Upload-Checksum": {**STRING, "description": "`sha1 <base64>` or `sha256 <base64>` of this body."}}
TUS_ERRORS = {412: Reply("Tus-Resumable is not 1.0.0.", {"Tus-Version": "The version spoken."}),
              413: "More bytes than the upload (or the caller's limit) allows, or than the malware scanner "
                   "takes (`too_large_to_scan`).",
              422: "The last bytes are in and the malware scanner found something in the file (`infected`; "
                   "details: signature): the upload is gone.",
              460: "The body does not match Upload-Checksum; none of it was kept."}
TUS_BODY = (Body(OCTETS, description="The upload's next bytes."),)
OFFSET_HEADERS = {"Upload-Offset": "The bytes the server has.", "Upload-Expires": "When the upload is dropped.",
                  "Anclora-File-Id": "The file the upload became, once complete."}
UPLOAD_JSON = obj({"id": STRING, "length": {"type": "integer"}, "offset": {"type": "integer"},
                   "metadata": {"type": ["object", "null"]}, "file_id": {"type": ["string", "null"]},
                   "created_at": MOMENT, "expires_at": MOMENT}, required=("id", "length", "offset"), closed=False)


class TusHandler(UploadHandler):
    """What every tus route shares: the protocol version, its headers, and answers without a body to HEAD."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Tus-Resumable", tus.VERSION)

    async def prepare(self) -> None:
        override = self.request.headers.get("X-HTTP-Method-Override", "").upper()
        if self.request.method == "POST" and override in OVERRIDABLE:
            self.request.method = override
        await super().prepare()
        if self.request.method not in ("OPTIONS", "GET") and \
                self.request.headers.get("Tus-Resumable") != tus.VERSION:
            raise tus.UnsupportedVersion(headers={"Tus-Version": tus.VERSION})

    def compute_etag(self) -> None:
        return None  # (Tornado's default is the hash of the body: of nothing, for HEAD and 204 answers)

    def name_owner(self, row) -> None:
        """Name the session an anonymous upload belongs to (`X-Anclora-Session`, for a client without a cookie
        jar that reaches it by its URL) and, once complete, the file it became (`Anclora-File-Id`)."""
        token = tus.session_token(self.ctx, row)
        if token is not None:
            self.session_token = token  # (kept when an error answer resets the headers)
        if row.file_id:
            self.set_header("Anclora-File-Id", row.file_id)

    @operation({204: Reply(None, {name: "What the server speaks of tus." for name in (
        "Tus-Version", "Tus-Extension", "Tus-Checksum-Algorithm", "Tus-Max-Size")})})
    def options(self, *_args) -> None:
        """What this server speaks of tus: version, extensions, checksum algorithms and its size limit."""
        self.set_header("Tus-Version", tus.VERSION)
        self.set_header("Tus-Extension", tus.EXTENSIONS)
        self.set_header("Tus-Checksum-Algorithm", ",".join(tus.CHECKSUMS))
        self.set_header("Tus-Max-Size", str(upload_limit(self.ctx, self.identity, None, starting=False)))
        self.clear_header("Content-Type")
        self.set_status(204)
        self.finish()

    # -- appending a request's body (PATCH, or POST with creation-with-upload) ----------------------------------

    appender: Appender | None = None
    row = None
    _token = ""
    _renewed = 0.0
    _refusal: AncloraError | None = None
    _lost = False  # the lock ran out and another request took the upload: its bytes are not ours to touch

    def sends_octets(self) -> bool:
        return self.request.headers.get("Content-Type", "").split(";")[0].strip() == OCTETS

    def header_int(self, name: str) -> int | None:
        value = self.request.headers.get(name)
        if value is None:
            return None
        if not _COUNT.fullmatch(value):
            raise BadRequest(f"{name} must be a non-negative integer.")
        return int(value)

    async def start_appending(self, upload_id: str, offset: int) -> None:
        """Take the upload at `offset` and accept the body into it (the lock is given back if that fails)."""
        row, token = await tus.lock(self.ctx, self.identity, upload_id, offset)
        self.name_owner(row)
        try:
            room = row.length - row.offset
            declared = self.declared_length()
            if declared is not None and declared > room:
                raise PayloadTooLarge("The request carries more bytes than the upload has left.",
                                      details={"remaining": room, "declared": declared})
            checksum = tus.parse_checksum(self.request.headers.get("Upload-Checksum"))
            self.request.connection.set_max_body_size(room + LINGER_BYTES)
            self.appender = self.ctx.storage.appender(row.id, row.offset, room, checksum,
                                     tus.hash_so_far(self.ctx, row.id, row.offset))
        except BaseException:
            await tus.release(self.ctx, row.id, token, row.offset)
            raise
        self.row, self._token, self._renewed = row, token, time.monotonic()
        self._touch()

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self.appender is None or self._refusal is not None:
            return None
        self._touch()
        if time.monotonic() - self._renewed > tus.LOCK_SECONDS / 3:
            return self._renew_then_write(chunk)
        self._write(chunk)
        return self.appender.wait()

    async def _renew_then_write(self, chunk: bytes) -> None:
        if not await tus.renew(self.ctx, self.row.id, self._token):
            self._lost = True
            self._refusal = Conflict("This request stalled and lost the upload to another one.")
            return
        self._renewed = time.monotonic()
        if self.appender is None:  # the client went away meanwhile
            return
        self._write(chunk)
        if (waiting := self.appender.wait()) is not None:
            await waiting

    def _write(self, chunk: bytes) -> None:
        try:
            self.appender.write(chunk)
        except AncloraError as error:
            self._refusal = error
        else:
            self.ctx.metrics.upload_bytes.inc(len(chunk))

    async def finish_appending(self):
        """End the body: the upload at its new offset and, once the last byte is in, the file it became (made
        while this request still holds the upload)."""
        self._stop_timer()
        appender, self.appender = self.appender, None
        offset, record = appender.start, None
        try:
            offset, sha256 = await self._settle(appender)
            if self._refusal is None and offset == self.row.length:
                record = await self._complete(sha256 and sha256.hexdigest())
        finally:
            row = None if self._lost else await tus.release(
                self.ctx, self.row.id, self._token, offset, record and record.id)
        if self._refusal is not None:
            raise self._refusal
        if row is None:
            raise Conflict("This request lost the upload to another one.")
        if record is not None:
            self.set_header("Anclora-File-Id", record.id)
        return row

    async def _settle(self, appender: Appender) -> tuple[int, object]:
        """Keep what this request wrote (unless refused, or its checksum fails) and remember the hash so far; a
        request that lost the upload leaves the bytes alone."""
        if self._lost:
            appender.close()
            return appender.start, None
        offset, sha256 = await appender.end(keep=self._refusal is None)
        if appender.checksum_failed:
            self._refusal = tus.ChecksumMismatch()
        if sha256 is not None and offset < self.row.length:
            tus.remember_hash(self.ctx, self.row.id, offset, sha256)
        return offset, sha256

    async def _complete(self, sha256: str | None):
        done = asyncio.Event()
        holding = asyncio.ensure_future(self._hold_lock(done))  # (a large file's malware scan outlasts the lock)
        try:
            return await tus.complete(self.ctx, self.identity, self.row, sha256)
        except BaseException:
            await tus.forget(self.ctx, self.row.id)  # its bytes may be half moved: the client starts again
            raise
        finally:
            done.set()
            await holding

    async def _hold_lock(self, done: asyncio.Event) -> None:
        """Renew the upload's lock until `done`, so that no other request takes it while it becomes a file (never
        cancelled inside a renewal: its database session ends cleanly)."""
        while True:
            try:
                await asyncio.wait_for(done.wait(), tus.LOCK_SECONDS / 3)
                return
            except TimeoutError:
                try:
                    await tus.renew(self.ctx, self.row.id, self._token)
                except Exception:  # (the completion meets the same trouble and answers for it)
                    log.warning("could not renew the lock of upload %s while completing it", self.row.id)
                    return

    def discard_upload(self) -> None:
        """The client went away or stalled mid-body: keep what arrived (the point of resuming) and free the lock."""
        self._stop_timer()
        appender, self.appender = self.appender, None
        if appender is not None:
            asyncio.ensure_future(self._keep(appender))

    async def _keep(self, appender: Appender) -> None:
        try:
            offset, _ = await self._settle(appender)
            if not self._lost:
                await tus.release(self.ctx, self.row.id, self._token, offset)
        except Exception:
            log.exception("could not keep the bytes of interrupted upload %s", self.row.id)

    def answer(self, row, status: int) -> None:
        """A tus answer without a body: the upload's offset, expiry, session and file (no Content-Type)."""
        self.name_owner(row)
        self.clear_header("Content-Type")
        self.set_header("Upload-Offset", str(row.offset))
        self.set_header("Upload-Expires", tus.http_date(row.expires_at))
        self.set_status(status)
        self.finish()


@tornado.web.stream_request_body
class ResumableUploadsHandler(TusHandler):
    def set_default_headers(self) -> None:
        super().set_default_headers()
        if self.row is not None:  # (also on an error after creation: the client can still resume or terminate)
            self.set_header("Location", f"/api/uploads/{self.row.id}")

    async def prepare(self) -> None:
        await super().prepare()
        if self.request.method != "POST":
            return
        if self.request.headers.get("Upload-Defer-Length"):
            raise BadRequest("Upload-Defer-Length is not supported: send Upload-Length.")
        length = self.header_int("Upload-Length")
        if length is None:
            raise BadRequest("Upload-Length is required.")
        limit = upload_limit(self.ctx, self.identity, length)
        if length > limit:
            self.ctx.metrics.quota_refusals.labels("upload_size").inc()
            raise PayloadTooLarge(f"The upload is larger than the {limit} bytes allowed.",
                                  details={"limit": limit, "declared": length})
        self.check_room(length)
        metadata = tus.parse_metadata(self.request.headers.get("Upload-Metadata"))
        with_body = self.sends_octets() and length > 0
        if with_body and (self.declared_length() or 0) > length:
            raise PayloadTooLarge("The request carries more bytes than Upload-Length.")
        tus.parse_checksum(self.request.headers.get("Upload-Checksum"))  # (refused before anything exists)
        self.row = await tus.create(self.ctx, self.identity, length, metadata, self.session_token)
        self.set_default_headers()
        if with_body:
            await self.start_appending(self.row.id, 0)

    @operation({201: Reply(None, {"Location": "The upload's URL.", **OFFSET_HEADERS}), **TUS_ERRORS,
                409: "Another request is appending to the new upload.",
                429: "Too many uploads lately; try again after Retry-After."},
               uploads=TUS_BODY, headers={**TUS_HEADERS, "Upload-Length": {**COUNT, "required": True},
                                          "Upload-Metadata": STRING})
    async def post(self) -> None:
        """Create an upload of `Upload-Length` bytes (with `Upload-Metadata`); its first bytes may come along."""
        row = await self.finish_appending() if self.appender is not None else self.row
        if row.length == 0:  # nothing to wait for: the file exists at once
            record = await tus.complete(self.ctx, self.identity, row)
            await tus.record_file(self.ctx, row.id, record.id)
            row.file_id = record.id
        self.answer(row, 201)


@tornado.web.stream_request_body
class ResumableUploadHandler(TusHandler):
    async def prepare(self) -> None:
        await super().prepare()
        if self.request.method != "PATCH":
            return
        if not self.sends_octets():
            raise UnsupportedMediaType(f"PATCH bodies must be {OCTETS}.")
        offset = self.header_int("Upload-Offset")
        if offset is None:
            raise BadRequest("Upload-Offset is required.")
        await self.start_appending(self.path_args[0], offset)

    @operation({204: Reply(None, OFFSET_HEADERS), **TUS_ERRORS,
                409: "Upload-Offset is not the upload's, or another request is appending.",
                415: f"The body is not {OCTETS}."},
               uploads=TUS_BODY, headers={**TUS_HEADERS, "Upload-Offset": {**COUNT, "required": True}})
    async def patch(self, upload_id: str) -> None:
        """Append the body at `Upload-Offset`; `Upload-Checksum` (sha1 or sha256) makes it all-or-nothing."""
        row = await self.finish_appending()
        self.answer(row, 204)

    @operation({200: Reply(None, {"Upload-Length": "The upload's size.", "Upload-Metadata": "As sent.",
                                  **OFFSET_HEADERS}), 412: None},
               headers={"Tus-Resumable": TUS_HEADERS["Tus-Resumable"]})
    async def head(self, upload_id: str) -> None:
        """How many bytes the server has (`Upload-Offset`) of how many (`Upload-Length`), and until when."""
        row = await tus.get_reachable(self.ctx, self.identity, upload_id)
        self.set_header("Upload-Length", str(row.length))
        if row.upload_metadata:
            self.set_header("Upload-Metadata", tus.metadata_header(row.upload_metadata))
        self.answer(row, 200)

    @operation({200: UPLOAD_JSON})
    async def get(self, upload_id: str) -> None:
        """The upload as JSON: `offset`, `length`, `metadata`, `expires_at`, and `file_id` once complete."""
        row = await tus.get_reachable(self.ctx, self.identity, upload_id)
        self.name_owner(row)
        self.write_json(tus.as_json(row))

    @operation({204: None, 409: "A request is appending to the upload.", 412: TUS_ERRORS[412]},
               headers={"Tus-Resumable": TUS_HEADERS["Tus-Resumable"]})
    async def delete(self, upload_id: str) -> None:
        """Terminate the upload: its bytes go (a file it already became stays)."""
        self.name_owner(await tus.terminate(self.ctx, self.identity, upload_id))
        self.clear_header("Content-Type")
        self.set_status(204)
        self.finish()


default_handlers = [
    (r"/api/uploads/?", ResumableUploadsHandler),
    (r"/api/uploads/([0-9a-f-]{36})", ResumableUploadHandler),
]
