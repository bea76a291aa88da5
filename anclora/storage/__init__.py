"""The storage contract: where file bytes live. Every byte goes through it: written as it arrives (sha256 on the
way), appended to by resumable uploads, read by range, staged into a job's folder and back, swept and verified.
Keys are generated here, never taken from users. Backends: `local` (a folder) and `s3` (an S3-compatible bucket)."""

from __future__ import annotations

import abc
import errno
from pathlib import Path
from typing import AsyncIterator, Awaitable

from ..errors import AncloraError, InsufficientStorage, PayloadTooLarge, ServiceUnavailable

FULL = (errno.ENOSPC, errno.EDQUOT)


def storage_error(error: OSError) -> AncloraError:
    """A failed write as the client should hear it: 507 when the disk (or quota) is full, else 503 to retry."""
    if error.errno in FULL:
        return InsufficientStorage("The server has no space left to store this; try again later.",
                                   headers={"Retry-After": "60"})
    return ServiceUnavailable(f"The storage could not be written: {error.strerror or 'I/O error'}.",
                              headers={"Retry-After": "5"})


class StorageWriter(abc.ABC):
    """One file being written: chunks go to a temporary name until commit() makes it visible."""

    key: str
    size: int
    sha256: str

    @abc.abstractmethod
    def write(self, chunk: bytes) -> None: ...

    def wait(self) -> Awaitable[None] | None:
        """None when the next chunk may be written now; else an awaitable to wait on first (flow control)."""
        return None

    @abc.abstractmethod
    async def commit(self, durable: bool = True) -> str:
        """Flush, fsync and publish under the key; return the key. `durable=False` skips the fsyncs, for bytes of
        no use after a crash (a one-shot conversion's input, removed once its answer is sent)."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Remove whatever was written. Safe to call twice and after commit failed."""


class Appender(abc.ABC):
    """One request's bytes of a resumable upload, written at the upload's offset as they arrive."""

    start: int
    written: int
    room: int
    checksum_failed: bool
    checksum: tuple | None
    hash: object | None

    def write(self, chunk: bytes) -> None:
        """Take one chunk: at most `room` bytes in all; the piece's checksum and the upload's hash follow it."""
        if self.written + len(chunk) > self.room:
            raise PayloadTooLarge("The request carries more bytes than the upload has left.",
                                  details={"remaining": self.room - self.written})
        self._put(chunk)
        if self.checksum is not None:
            self.checksum[0].update(chunk)
        if self.hash is not None:
            self.hash.update(chunk)
        self.written += len(chunk)

    @abc.abstractmethod
    def _put(self, chunk: bytes) -> None:
        """Write the chunk where this backend keeps the upload's bytes."""

    def wait(self) -> Awaitable[None] | None:
        """None when the next chunk may be written now; else an awaitable to wait on first (flow control)."""
        return None

    @abc.abstractmethod
    async def end(self, keep: bool) -> tuple[int, object]:
        """Make the bytes durable, or drop them unless `keep` (and their checksum matches): (the upload's new
        offset, its sha256 object so far or None)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Drop this request's bytes without waiting (the request lost the upload)."""


class Storage(abc.ABC):
    name: str  # the backend, as /api/health names it
    scratch: Path  # a local folder for job work folders and temporary files (never a file's only copy)

    @abc.abstractmethod
    def writer(self) -> StorageWriter: ...

    @abc.abstractmethod
    def read(self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 256 * 1024
             ) -> AsyncIterator[bytes]:
        """Bytes start..end (inclusive end, as in Range) in chunks; FileNotFoundError when the key is gone."""

    @abc.abstractmethod
    async def sniff(self, key: str, hint: str = "") -> str:
        """The stored file's format, from its bytes (`anclora.sniff`)."""

    @abc.abstractmethod
    async def stage(self, key: str, path: Path) -> None:
        """Copy a stored file to a new local file at `path` (a job's input, in its work folder): whatever is done
        to that file leaves the stored bytes whole."""

    @abc.abstractmethod
    async def import_file(self, path: Path, sha256: str | None = None, durable: bool = True
                          ) -> tuple[str, int, str]:
        """Move a finished local file into storage (the local file is gone after); return (key, size, sha256).
        Pass `sha256` when it is known. `durable=False` may skip the fsync, for bytes of no use after a crash (a
        one-shot result the cache does not keep, removed once it is sent); a backend that is always durable
        ignores it."""

    @abc.abstractmethod
    async def link(self, key: str) -> str:
        """Another key for the same bytes, each deletable on its own; FileNotFoundError when `key` is gone."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None: ...

    @abc.abstractmethod
    async def inventory(self) -> dict[str, float]:
        """Every stored key with the time (seconds since the epoch) it was written."""

    @abc.abstractmethod
    async def sweep(self, cutoff: float) -> int:
        """Remove what writes that never finished left before `cutoff` (temporary files, multipart uploads that
        belong to no resumable upload); how many were removed."""

    @abc.abstractmethod
    async def verify(self, key: str) -> tuple[int, str] | None:
        """(size, sha256) of the stored bytes, read again; None when the key is gone."""

    @abc.abstractmethod
    def free_bytes(self) -> int | None:
        """Bytes that can still be stored; None when the backend has no such limit."""

    @abc.abstractmethod
    async def check(self) -> dict:
        """Raise when storage cannot be written; else what /api/health reports of it."""

    async def close(self) -> None:  # noqa: B027 (a backend without connections has nothing to release)
        """Release connections (at shutdown)."""

    def describe(self) -> str:
        """Where the bytes are, for the startup log line."""
        return self.name

    def download_url(self, key: str, filename: str, content_type: str, disposition: str) -> str | None:
        """A URL where a client can fetch the bytes itself for a few minutes (a presigned GET), or None."""
        return None

    # -- the bytes of resumable uploads ("parts"), named by their upload's id ------------------------------------

    @abc.abstractmethod
    async def create_part(self, name: str) -> None:
        """An empty part; it must not exist yet."""

    @abc.abstractmethod
    async def appender(self, name: str, offset: int, room: int, checksum, sha256=None) -> Appender:
        """An appender at `offset` taking at most `room` bytes; `checksum` (hash object, expected digest) or None;
        `sha256`: the whole part's hash object so far, to carry on (None: computed at import)."""

    @abc.abstractmethod
    async def import_part(self, name: str, size: int, sha256: str | None) -> tuple[str, int, str]:
        """Make a finished part of `size` bytes a stored object: (key, size, sha256)."""

    @abc.abstractmethod
    async def delete_part(self, name: str) -> None: ...

    @abc.abstractmethod
    async def parts(self) -> list[tuple[str, float]]:
        """(name, seconds since the epoch it was last written) of every part."""


def open_storage(settings) -> Storage:
    """The backend `storage_url` names: empty or file://<folder> (the upload folder by default), or s3://bucket/prefix."""
    url = settings.storage_url
    if url.startswith("s3://"):
        from .s3 import S3Storage

        return S3Storage.from_settings(settings)
    from .local import LocalStorage

    return LocalStorage(url.removeprefix("file://") if url else settings.upload_folder)
