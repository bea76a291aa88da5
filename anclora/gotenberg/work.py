"""One Gotenberg request's work on our jobs: every input is a File, every step a conversion run to its end through
the job queue (limits, prices and the sandbox as for any conversion), several outputs zipped; every file made on
the way is removed when the request is done, except the answer until it has been sent."""

from __future__ import annotations

import asyncio
import json
import zipfile
from typing import Any

from .. import files
from ..db.models import File
from ..errors import ConversionTimeout
from ..identity import Identity
from ..jobs import service


SIDE_FIELDS = ("watermark", "stamp")


class Work:
    def __init__(self, ctx, identity: Identity, timeout: float):
        self.ctx, self.identity = ctx, identity
        self.deadline = asyncio.get_running_loop().time() + timeout
        self.timeout = timeout
        self.records: list[File] = []
        self.side_files: dict[str, list[File]] = {}  # files sent in a field the route reads apart (`watermark`)
        self.repeated: set[str] = set()  # the form's fields sent more than once

    def remaining(self) -> float:
        left = self.deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise ConversionTimeout(f"The request exceeded the time limit of {self.timeout:g} s.")
        return left

    def track(self, record: File) -> File:
        self.records.append(record)
        return record

    async def convert(self, record: File, to: str, options: dict[str, Any] | None = None,
                      converter: str | None = None) -> File:
        """`record` converted by one job; the result is tracked like the inputs."""
        result = await service.run_now(self.ctx, self.identity, file_id=record.id, to=to, options=options,
                                       timeout=self.remaining(), converter=converter)
        return self.track(result)

    async def convert_all(self, records: list[File], to: str, options: dict[str, Any] | None = None,
                          converter: str | None = None) -> list[File]:
        """Each record converted, one job after the other: a plan's limit on concurrent jobs holds for the
        request's own jobs too, as it would for a client sending them one by one."""
        return [await self.convert(record, to, options, converter) for record in records]

    async def bundle(self, entries: list[tuple[str, File]], fmt: str = "zip") -> File:
        """A zip of the files under the given names (a name taken twice gets ` (2)`); `fmt` is its type for the
        converters (`htmlzip`: a web page and its assets)."""
        writer = self.ctx.storage.writer()
        try:
            with zipfile.ZipFile(_Sink(writer), "w", zipfile.ZIP_STORED) as archive:  # PDFs are compressed already
                for name, record in entries:
                    await self._copy(archive, name, self.ctx.storage.read(record.storage_key), writer)
            await writer.commit()
        except BaseException:
            writer.abort()
            raise
        zipped = await files.create(self.ctx, self.identity, key=writer.key, size=writer.size,
                                    sha256=writer.sha256, filename="result.zip", origin="conversion", fmt=fmt)
        return self.track(zipped)

    async def store(self, filename: str, data: bytes, fmt: str) -> File:
        """A small file made for the request (a .url file holding the address to convert)."""
        writer = self.ctx.storage.writer()
        try:
            writer.write(data)
            await _settled(writer)
            await writer.commit()
        except BaseException:
            writer.abort()
            raise
        record = await files.create(self.ctx, self.identity, key=writer.key, size=writer.size, sha256=writer.sha256,
                                    filename=filename, origin="conversion", fmt=fmt)
        return self.track(record)

    async def _copy(self, archive: zipfile.ZipFile, name: str, pieces, writer) -> None:
        with archive.open(unique_name(archive, name), "w", force_zip64=True) as entry:
            async for piece in pieces:
                entry.write(piece)
                await _settled(writer)

    async def read_json(self, record: File) -> Any:
        return json.loads(await self.read_bytes(record))

    async def read_bytes(self, record: File) -> bytes:
        return b"".join([piece async for piece in self.ctx.storage.read(record.storage_key)])

    async def discard(self, keep: File | None = None) -> None:
        """Remove every tracked file but `keep` (rows now, bytes too)."""
        doomed = [record for record in self.records if keep is None or record.id != keep.id]
        if doomed:
            await files.forget(self.ctx, [record.id for record in doomed])
        for record in doomed:
            await self.ctx.storage.delete(record.storage_key)
        self.records = [keep] if keep is not None else []


class _Sink:
    """The file object zipfile writes to: storage's writer (not seekable, so entries carry data descriptors)."""

    def __init__(self, writer):
        self.writer = writer

    def write(self, data) -> int:
        self.writer.write(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


async def _settled(writer) -> None:
    waiting = writer.wait()
    if waiting is not None:
        await waiting


def unique_name(archive: zipfile.ZipFile, name: str) -> str:
    """`name`, or `name (2)` and so on when the archive holds it already (two inputs called the same)."""
    taken = set(archive.namelist())
    stem, dot, ext = name.rpartition(".")
    stem, ext = (stem, f".{ext}") if dot else (name, "")
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{stem} ({number}){ext}"
    return candidate


def stem_of(filename: str) -> str:
    return filename.rsplit(".", 1)[0] if "." in filename else filename

