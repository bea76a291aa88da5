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
    async def commit(self) -> str:
        """Flush, fsync and publish under the key; return the key."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Remove whatever was written. Safe to call twice and after commit failed."""


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
