"""The bytes of resumable uploads on a local folder (`<root>/resumable/<name>.part`): appended at an offset by
one request at a time, made durable before the offset is acknowledged, or dropped back to where they began."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from . import Appender, storage_error
from .hashing import BackgroundHash
from .local import WRITE_SLICE


class LocalAppender(Appender):
    """One request's bytes, written at the part's offset; at most `room` of them. `sha256`: the whole upload's
    hash so far, carried on beside the event loop (None when this process has not seen every earlier byte)."""

    def __init__(self, path: Path, offset: int, room: int, checksum, sha256=None):
        self.handle = open(path, "r+b", buffering=0)
        self.handle.seek(offset)
        self.start, self.room, self.checksum = offset, room, checksum
        self.hash = BackgroundHash(sha256) if sha256 is not None else None
        self.written = 0
        self.checksum_failed = False

    def _put(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        try:
            while view:  # (a nearly full disk may take fewer bytes than offered)
                view = view[self.handle.write(view[:WRITE_SLICE]):]
        except OSError as error:
            raise storage_error(error) from None

    def wait(self):
        """None, or an awaitable to let the hashing thread catch up before more bytes come (flow control)."""
        return self.hash.wait() if self.hash is not None else None

    async def end(self, keep: bool) -> tuple[int, object]:
        """Make the bytes durable, or drop them unless `keep` (and their checksum matches): (the upload's new
        offset, its sha256 object so far or None)."""
        self.checksum_failed = self.checksum is not None and self.checksum[0].digest() != self.checksum[1]
        keep = keep and not self.checksum_failed
        if not keep and self.hash is not None:
            self.hash.close()  # (it has taken bytes that are dropped now)
            self.hash = None
        await asyncio.get_running_loop().run_in_executor(None, self._settle, keep)
        sha256 = await self.hash.state() if self.hash is not None else None
        return (self.start + self.written if keep else self.start), sha256

    def close(self) -> None:
        if self.hash is not None:
            self.hash.close()
        self.handle.close()

    def _settle(self, keep: bool) -> None:
        try:
            if not keep:
                self.handle.truncate(self.start)
            os.fsync(self.handle.fileno())
        finally:
            self.handle.close()

