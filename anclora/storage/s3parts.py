"""Bytes streamed into S3 multipart uploads as they arrive: a file being written (S3Writer) and one request's
bytes of a resumable upload (S3Appender), both over one PartUploader.

Each part is buffered in a temporary file of the scratch folder's tmp/ (as tusd's s3store does), not in memory:
twenty uploads at once would otherwise hold twenty part buffers. The file goes when its part is sent or the
upload dropped (`anclora cleanup` sweeps what a killed process left). At most `IN_FLIGHT` parts of one upload
are sent at once; past that the writer asks its caller to wait (Tornado's flow control), so neither memory nor
the scratch folder grows with the file.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ServiceUnavailable
from . import Appender, StorageWriter, storage_error
from .hashing import BackgroundHash
from .s3client import part_entry

if TYPE_CHECKING:
    from .s3 import S3Storage

log = logging.getLogger("anclora.storage")
IN_FLIGHT = 2  # parts of one upload sent at once
HEAD = 4096  # the first bytes of a file, kept for sniffing it (what `anclora.sniff` reads)
# Bytes read at a time from a part's buffer as it is sent. urllib3 asks for 16 KiB: 512 reads and sends per 8 MiB
# part, each a round trip for the GIL; 1 MiB cut the sending threads' CPU by 0.1 s per 500 MiB (0.12 of 1.3 s,
# medians of 4 rounds of 256 MiB of parts to moto).
SEND_BLOCK = 1024 * 1024


def unavailable(error: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(f"The object storage could not be written: {type(error).__name__}.",
                              headers={"Retry-After": "5"})


class PartFile:
    """A part's buffer as the S3 client reads it: from its start, in blocks of at least SEND_BLOCK bytes whatever
    size the HTTP client asks for (botocore only counts, checksums and sends what it reads)."""

    def __init__(self, handle):
        self.handle = handle
        handle.seek(0)

    def read(self, size: int | None = -1) -> bytes:
        return self.handle.read(-1 if size is None or size < 0 else max(size, SEND_BLOCK))

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.handle.seek(offset, whence)

    def tell(self) -> int:
        return self.handle.tell()


class PartUploader:
    """Bytes cut into parts of `part_size`, numbered from `first`, sent as each fills. `upload_id` is an awaitable
    of the multipart upload's id (created on the first full part by a writer, known beforehand by an appender)."""

    def __init__(self, storage: "S3Storage", name: str, part_size: int, first: int = 1, upload_id=None):
        self.storage, self.name, self.part_size, self.number = storage, name, part_size, first
        self.upload_id: asyncio.Future | None = upload_id
        self.parts: dict[int, dict] = {}  # part number -> its ETag and checksum (`part_entry`)
        self.tasks: list[asyncio.Task] = []
        self.buffer = self._new_buffer()
        self.buffered = 0

    def _new_buffer(self):
        try:
            return tempfile.NamedTemporaryFile(dir=self.storage.tmp_dir, suffix=".part")
        except OSError as error:
            raise storage_error(error) from None

    def write(self, chunk) -> None:
        failed = next((task for task in self.tasks if task.done() and task.exception()), None)
        if failed is not None:
            raise unavailable(failed.exception())
        view = memoryview(chunk)
        while view:
            take = min(len(view), self.part_size - self.buffered)
            try:
                self.buffer.write(view[:take])
            except OSError as error:
                raise storage_error(error) from None
            self.buffered += take
            view = view[take:]
            if self.buffered == self.part_size:
                self.send_part()

    def send_part(self) -> None:
        """Send what is buffered as the next part (the last one may be short) and start a new buffer."""
        if self.upload_id is None:
            self.upload_id = asyncio.ensure_future(self.storage.start_multipart(self.name))
        buffer, number = self.buffer, self.number
        self.tasks.append(asyncio.ensure_future(self._send(number, buffer)))
        self.number += 1
        self.buffer, self.buffered = self._new_buffer(), 0

    async def _send(self, number: int, buffer) -> None:
        try:
            upload_id = await asyncio.shield(self.upload_id)
            answer = await self.storage.s3.call("upload_part", Key=self.name, UploadId=upload_id,
                                                PartNumber=number, Body=PartFile(buffer))
            self.parts[number] = part_entry(answer)
        finally:
            buffer.close()

    def wait(self):
        """None while fewer than IN_FLIGHT parts are being sent; else a future done when one has been."""
        pending = [task for task in self.tasks if not task.done()]
        if len(pending) < IN_FLIGHT:
            return None
        return asyncio.ensure_future(asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED))

    async def drain(self) -> None:
        """Wait until every part started is sent; the first failure raised as 503."""
        if self.tasks:
            await asyncio.wait(self.tasks)
        for task in self.tasks:
            if task.exception() is not None:
                raise unavailable(task.exception())

    def leftover(self) -> PartFile:
        """The buffered bytes that make no full part, as a file at its start."""
        return PartFile(self.buffer)

    def close(self) -> None:
        """Stop: the buffer goes; parts in flight finish (a thread cannot be stopped) and are not waited for."""
        self.buffer.close()

    async def settled(self) -> None:
        """Every part started has ended, sent or failed (before the multipart upload may be aborted)."""
        if self.tasks:
            await asyncio.wait(self.tasks)
        if self.upload_id is not None:
            await asyncio.wait([self.upload_id])


class S3Writer(StorageWriter):
    """A new object: parts sent as they fill; a file smaller than one part is a single PUT at commit."""

    def __init__(self, storage: "S3Storage"):
        self.storage = storage
        self.key = storage.new_key()
        self.name = storage.object_name(self.key)
        self.uploader = PartUploader(storage, self.name, storage.part_size)
        self._hash = BackgroundHash()
        self.size = 0
        self.sha256 = ""
        self.head = b""
        self._done = False

    def write(self, chunk: bytes) -> None:
        self.uploader.write(chunk)
        self._hash.update(chunk)
        if self.size < HEAD:
            self.head += bytes(chunk[:HEAD - self.size])
        self.size += len(chunk)

    def wait(self):
        return self.uploader.wait() or self._hash.wait()

    async def commit(self, durable: bool = True) -> str:
        """Publish the object (S3 keeps it durably once the answer comes; `durable` changes nothing here)."""
        uploader = self.uploader
        try:
            if uploader.upload_id is None:
                await self.storage.s3.call("put_object", Key=self.name, Body=uploader.leftover())
                uploader.close()
            else:
                if uploader.buffered:
                    uploader.send_part()
                uploader.close()
                await uploader.drain()
                await self.storage.complete_multipart(self.name, await uploader.upload_id, uploader.parts)
            self.sha256 = await self._hash.hexdigest()
            self.storage.remember_head(self.key, self.head)
        except BaseException as error:
            self.abort()
            if isinstance(error, Exception) and not hasattr(error, "status"):
                raise unavailable(error) from None
            raise
        self._done = True
        return self.key

    def abort(self) -> None:
        """Drop the bytes: the multipart upload is aborted once its parts in flight have ended."""
        if self._done:
            return
        self._done = True
        self._hash.close()
        self.uploader.close()
        if self.uploader.upload_id is not None:
            self.storage.in_background(self._abort(), f"abort of {self.name}")

    async def _abort(self) -> None:
        await self.uploader.settled()
        started = self.uploader.upload_id
        if not started.cancelled() and started.exception() is None:
            await self.storage.abort_multipart(self.name, started.result())


class S3Appender(Appender):
    """One request's bytes of a resumable upload (see `S3Storage.appender` for how they map onto parts)."""

    def __init__(self, storage: "S3Storage", part: str, info: dict, offset: int, room: int, checksum, sha256=None):
        self.storage, self.part, self.info = storage, part, info
        self.start, self.room, self.checksum = offset, room, checksum
        self.hash = BackgroundHash(sha256) if sha256 is not None else None
        self.written = 0
        self.checksum_failed = False
        future = asyncio.get_running_loop().create_future()
        future.set_result(info["upload_id"])
        part_size = info["part_size"]
        self.uploader = PartUploader(storage, storage.object_name(info["key"]), part_size,
                                     first=offset // part_size + 1, upload_id=future)

    async def resume(self) -> None:
        """Put back the bytes past the last full part (the incomplete piece) in front of this request's."""
        carried = self.start % self.info["part_size"]
        if carried:
            piece = self.storage.incomplete_name(self.part, self.start // self.info["part_size"])
            async for chunk in self.storage.read_name(piece, 0, carried - 1):
                self.uploader.write(chunk)
            if self.uploader.buffered != carried:
                raise ServiceUnavailable("The stored bytes of this upload are incomplete; start it again.")

    def _put(self, chunk: bytes) -> None:
        self.uploader.write(chunk)

    def wait(self):
        return self.uploader.wait() or (self.hash.wait() if self.hash is not None else None)

    async def end(self, keep: bool) -> tuple[int, object]:
        """Keep the bytes: full parts sent, the rest stored as the incomplete piece (or, with the upload's last
        byte, sent as its last part). Or drop them: parts sent past the upload's offset are replaced by the next
        request's, or left out when the upload completes."""
        self.checksum_failed = self.checksum is not None and self.checksum[0].digest() != self.checksum[1]
        if not keep or self.checksum_failed:
            self.close()
            return self.start, None
        offset = self.start + self.written
        try:
            if self.written == self.room and self.uploader.buffered:
                self.uploader.send_part()
            elif self.uploader.buffered:
                piece = self.storage.incomplete_name(self.part, offset // self.info["part_size"])
                await self.storage.s3.call("put_object", Key=piece, Body=self.uploader.leftover())
            await self.uploader.drain()
        finally:
            self.uploader.close()
        sha256 = await self.hash.state() if self.hash is not None else None
        return offset, sha256

    def close(self) -> None:
        if self.hash is not None:
            self.hash.close()
            self.hash = None
        self.uploader.close()


def new_key() -> str:
    name = uuid.uuid4().hex
    return f"{name[:2]}/{name}"


def scratch_tmp(scratch: Path) -> Path:
    folder = scratch / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
