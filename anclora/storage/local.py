"""Files on a local (or NFS-mounted) folder: objects/<2 hex>/<32 hex>, written via tmp/ + fsync + rename."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import AsyncIterator

from .. import sniff
from . import Storage, StorageWriter, storage_error
from .hashing import BackgroundHash


# Large single writes are several times slower than 64 KiB ones on common virtual disks (measured: 1 MiB writes
# at 0.13-0.17 GB/s against 0.7-1.7 GB/s), so bigger chunks are written in slices.
WRITE_SLICE = 64 * 1024
# Every this many bytes, start writing the previous ones to disk in the background, so that the fsync at commit
# waits for the last few megabytes only (measured: 0.13 s of a 0.49 s 500 MiB write, 0.002 s with this). The
# same as PostgreSQL's `backend_flush_after`; Python has no sync_file_range, and POSIX_FADV_DONTNEED on dirty
# pages starts their writeback without waiting for it.
FLUSH_AFTER = 8 * 1024 * 1024
# A file up to this size is sniffed on the event loop: it was just written, so its head and zip directory are in
# the page cache, and reading them costs less than the hop to a worker thread and back (60-220 us of CPU here
# under load, for a cached one-shot conversion a twentieth of its cost). `read` reads inline too.
SNIFF_INLINE_BYTES = 1024 * 1024
FICLONE = 0x40049409  # <linux/fs.h>: make a file share another's blocks copy-on-write (btrfs, XFS, bcachefs)
# What a filesystem (or a kernel) without such clones answers: copy instead, and stop asking it.
NO_CLONES = (errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.EXDEV, errno.ENOSYS)


def _new_key() -> str:
    name = uuid.uuid4().hex
    return f"{name[:2]}/{name}"


def hash_file(path: Path, chunk_size: int = 1024 * 1024) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


class LocalWriter(StorageWriter):
    def __init__(self, storage: "LocalStorage"):
        self._storage = storage
        self.key = _new_key()
        self._tmp = storage.tmp_dir / (self.key.replace("/", "_") + ".part")
        try:
            self._handle = open(self._tmp, "wb", buffering=0)
        except OSError as error:
            raise storage_error(error) from None
        self._hash = BackgroundHash()
        self.size = 0
        self.sha256 = ""
        self._done = False
        self._flushed = 0

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        try:
            while view:  # (a nearly full disk takes fewer bytes than offered before it refuses)
                view = view[self._handle.write(view[:WRITE_SLICE]):]
        except OSError as error:
            raise storage_error(error) from None
        self._hash.update(chunk)
        self.size += len(chunk)
        if self.size - self._flushed >= FLUSH_AFTER:
            _start_writeback(self._handle.fileno(), self._flushed, self.size - self._flushed)
            self._flushed = self.size

    def wait(self):
        return self._hash.wait()

    async def commit(self, durable: bool = True) -> str:
        self.sha256 = await self._hash.hexdigest()
        final = self._storage.path(self.key)
        try:
            if durable:
                await asyncio.get_running_loop().run_in_executor(None, self._publish, final, durable)
            else:  # a close and a rename, no fsync: cheaper here than the hop to a thread
                self._publish(final, durable)
        except OSError as error:
            raise storage_error(error) from None
        self._done = True
        return self.key

    def _publish(self, final: Path, durable: bool) -> None:
        if durable:
            os.fsync(self._handle.fileno())
        self._handle.close()
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(self._tmp, final)
        if durable:
            _fsync_dir(final.parent)

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._hash.close()
        self._handle.close()
        self._tmp.unlink(missing_ok=True)


def sweep_folder(folder: Path, cutoff: float) -> int:
    """Remove the files of `folder` last written before `cutoff`; how many."""
    removed = 0
    for partial in list(folder.iterdir()):
        try:
            if partial.stat().st_mtime < cutoff:
                partial.unlink(missing_ok=True)
                removed += 1
        except FileNotFoundError:  # removed meanwhile
            pass
    return removed


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _start_writeback(fd: int, offset: int, length: int) -> None:
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage(Storage):
    name = "local"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        self.scratch = self.root
        self.objects = self.root / "objects"
        self.tmp_dir = self.root / "tmp"
        self.parts_dir = self.root / "resumable"
        self.clones = True  # whether staging tries a copy-on-write clone (until the filesystem refuses one)
        self.objects.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        return str(self.root)

    def path(self, key: str) -> Path:
        head, _, name = key.partition("/")
        if len(head) != 2 or len(name) != 32 or not all(c in "0123456789abcdef" for c in head + name):
            raise ValueError(f"not a storage key: {key!r}")
        return self.objects / head / name

    def writer(self) -> LocalWriter:
        return LocalWriter(self)

    async def read(self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 256 * 1024
                   ) -> AsyncIterator[bytes]:
        with open(self.path(key), "rb") as handle:
            handle.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                want = chunk_size if remaining is None else min(chunk_size, remaining)
                chunk = handle.read(want)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    async def sniff(self, key: str, hint: str = "") -> str:
        path = self.path(key)
        if path.stat().st_size <= SNIFF_INLINE_BYTES:
            return sniff.sniff(path, hint)
        return await asyncio.get_running_loop().run_in_executor(None, sniff.sniff, path, hint)

    async def stage(self, key: str, path: Path) -> None:
        """A copy the engine may do anything with: a copy-on-write clone where the filesystem makes them (no bytes
        copied, and a write to either file leaves the other whole), else a plain copy. Never a hard link: engines
        run as the server's user, so permission bits would not keep one from writing the stored original."""
        await asyncio.get_running_loop().run_in_executor(None, self._stage, self.path(key), path)

    def _stage(self, source: Path, path: Path) -> None:
        if self.clones:
            with open(source, "rb") as original, open(path, "xb") as copy:
                try:
                    fcntl.ioctl(copy.fileno(), FICLONE, original.fileno())
                    return
                except OSError as error:
                    if error.errno not in NO_CLONES:
                        raise
                    self.clones = False
        shutil.copyfile(source, path)

    async def import_file(self, path: Path, sha256: str | None = None, durable: bool = True
                          ) -> tuple[str, int, str]:
        """Move a file into storage; (its key, size, sha256). `sha256`: already known, so not computed again;
        `durable=False`: no fsync (bytes that outlive no request)."""
        key = _new_key()
        final = self.path(key)
        try:
            size, sha = await asyncio.get_running_loop().run_in_executor(None, self._import, path, key, final,
                                                                         sha256, durable)
        except OSError as error:
            raise storage_error(error) from None
        return key, size, sha

    def _import(self, path: Path, key: str, final: Path, sha256: str | None, durable: bool) -> tuple[int, str]:
        size, sha = (path.stat().st_size, sha256) if sha256 else hash_file(path)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp_dir / (key.replace("/", "_") + ".part")
        try:
            shutil.move(str(path), tmp)  # (a rename, or a copy from a work folder on another filesystem)
            if durable:
                with open(tmp, "rb") as handle:
                    os.fsync(handle.fileno())
            os.rename(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)  # (a copy across filesystems that ran out of space)
            raise
        return size, sha

    async def link(self, key: str) -> str:
        """A new key for the same bytes (a hard link: no copy, and deleting either key leaves the other whole).
        As durable as `import_file`: the source's bytes are on disk already, and the new name is not fsynced."""
        new = _new_key()
        source, final = self.path(key), self.path(new)

        def link() -> None:
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, final)
            except FileNotFoundError:
                raise
            except OSError:  # a filesystem without hard links
                shutil.copyfile(source, final)

        await asyncio.get_running_loop().run_in_executor(None, link)
        return new

    async def delete(self, key: str) -> None:
        # In a thread: unlinking the last name of a file frees its blocks and cached pages (1-2 ms for a
        # megabyte picture), which would stall every request this loop serves.
        await asyncio.get_running_loop().run_in_executor(None, _unlink, self.path(key))

    def keys(self) -> list[str]:
        """Every stored key, sorted (a local convenience; the contract's is `inventory`)."""
        return sorted(self._inventory())

    async def inventory(self) -> dict[str, float]:
        return await asyncio.get_running_loop().run_in_executor(None, self._inventory)

    def _inventory(self) -> dict[str, float]:
        found = {}
        for folder in self.objects.iterdir():
            if folder.is_dir():
                for item in folder.iterdir():
                    try:
                        found[f"{folder.name}/{item.name}"] = item.stat().st_mtime
                    except FileNotFoundError:  # deleted meanwhile
                        pass
        return found

    async def sweep(self, cutoff: float) -> int:
        return sweep_folder(self.tmp_dir, cutoff)

    async def verify(self, key: str) -> tuple[int, str] | None:
        try:
            return await asyncio.get_running_loop().run_in_executor(None, hash_file, self.path(key))
        except FileNotFoundError:
            return None

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    async def check(self) -> dict:
        def probe() -> None:
            path = self.tmp_dir / f".probe-{uuid.uuid4().hex}"
            path.write_bytes(b"ok")
            path.unlink()
        await asyncio.get_running_loop().run_in_executor(None, probe)
        return {"backend": self.name, "free_bytes": self.free_bytes()}

    def part_path(self, name: str) -> Path:
        return self.parts_dir / f"{name}.part"

    async def create_part(self, name: str) -> None:
        self.parts_dir.mkdir(mode=0o700, exist_ok=True)
        os.close(os.open(self.part_path(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))

    async def appender(self, name: str, offset: int, room: int, checksum, sha256=None):
        from .parts import LocalAppender

        return LocalAppender(self.part_path(name), offset, room, checksum, sha256)

    async def import_part(self, name: str, size: int, sha256: str | None) -> tuple[str, int, str]:
        return await self.import_file(self.part_path(name), sha256)

    async def delete_part(self, name: str) -> None:
        self.part_path(name).unlink(missing_ok=True)

    async def parts(self) -> list[tuple[str, float]]:
        found = []
        for part in self.parts_dir.glob("*.part"):
            try:
                found.append((part.name[:-len(".part")], part.stat().st_mtime))
            except FileNotFoundError:  # deleted meanwhile
                pass
        return found
