"""The storage contract: where file bytes live. Keys are generated here, never taken from users."""

from __future__ import annotations

import abc
import errno
from pathlib import Path
from typing import AsyncIterator, Awaitable, Iterator

from ..errors import AncloraError, InsufficientStorage, ServiceUnavailable

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

    written: int
    checksum_failed: bool

    @abc.abstractmethod
    def write(self, chunk: bytes) -> None: ...

    def wait(self) -> Awaitable[None] | None:
        """None when the next chunk may be written now; else an awaitable to wait on first (flow control)."""
        return None

    @abc.abstractmethod
    async def end(self, keep: bool) -> tuple[int, object]:
        """Make the bytes durable, or drop them unless `keep` (and their checksum matches): (the upload's new
        offset, its sha256 object so far or None)."""

    @abc.abstractmethod
    def close(self) -> None: ...


class Storage(abc.ABC):
    @abc.abstractmethod
    def writer(self) -> StorageWriter: ...

    @abc.abstractmethod
    def read(self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 256 * 1024
             ) -> AsyncIterator[bytes]:
        """Bytes start..end (inclusive end, as in Range) in chunks."""

    @abc.abstractmethod
    def local_path(self, key: str) -> Path:
        """A path an engine can read; converters work on files."""

    @abc.abstractmethod
    async def import_file(self, path: Path, sha256: str | None = None) -> tuple[str, int, str]:
        """Move a finished local file into storage; return (key, size, sha256). Pass `sha256` when it is known."""

    @abc.abstractmethod
    async def link(self, key: str) -> str:
        """Another key for the same bytes, each deletable on its own; FileNotFoundError when `key` is gone."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None: ...

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def keys(self) -> Iterator[str]: ...

    @abc.abstractmethod
    def free_bytes(self) -> int: ...

    @abc.abstractmethod
    def check(self) -> None:
        """Raise OSError when storage cannot be written."""

    # -- the bytes of resumable uploads ("parts"), named by their upload's id ------------------------------------

    @abc.abstractmethod
    def create_part(self, name: str) -> None:
        """An empty part; it must not exist yet."""

    @abc.abstractmethod
    def appender(self, name: str, offset: int, room: int, checksum, sha256=None) -> Appender:
        """An appender at `offset` taking at most `room` bytes; `checksum` (hash object, expected digest) or None;
        `sha256`: the whole part's hash object so far, to carry on (None: computed at import)."""

    @abc.abstractmethod
    async def import_part(self, name: str, sha256: str | None) -> tuple[str, int, str]:
        """Make a finished part a stored object: (key, size, sha256)."""

    @abc.abstractmethod
    def delete_part(self, name: str) -> None: ...

    @abc.abstractmethod
    def parts(self) -> Iterator[tuple[str, float]]:
        """(name, seconds since the epoch it was last written) of every part."""
