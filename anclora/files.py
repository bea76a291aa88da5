"""Stored files as the API sees them: create, find by owner, delete, expire, clean up and verify."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from sqlalchemy import delete, select, update

from . import plugins, scanning, sniff
from .context import AppContext
from .db.base import iso, new_id, utcnow
from .db.models import File
from .db.models.file import HIDDEN
from .db.owned import get_owned
from .identity import Identity

log = logging.getLogger("anclora.files")

_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_NOT_FILE_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data", "text/html", "image/svg+xml"}
_KNOWN_TYPES = set(sniff.CONTENT_TYPES.values())
ORPHAN_GRACE_SECONDS = 3600  # objects younger than this may belong to a request still in flight


def retention_seconds(ctx: AppContext, identity: Identity) -> int:
    """What a plugin (the caller's plan) says, else the settings' default for anonymous or signed-in callers."""
    planned = plugins.first(ctx.pm, "anclora_file_retention", ctx=ctx, identity=identity)
    return planned or default_retention(ctx, identity)


def default_retention(ctx: AppContext, identity: Identity) -> int:
    settings = ctx.settings
    return settings.anonymous_retention if identity.is_anonymous else settings.user_retention


def as_json(record: File) -> dict[str, Any]:
    return {
        "id": record.id,
        "filename": record.filename,
        "size": record.size,
        "sha256": record.sha256,
        "content_type": record.content_type,
        "format": record.format,
        "created_at": iso(record.created_at),
        "expires_at": iso(record.expires_at),
    }


def _content_type(fmt: str, declared: str | None) -> str:
    """The sniffed type; the client's declared one only for types we cannot recognise from bytes (a declared
    type we could recognise, but did not, is a lie)."""
    if fmt != "bin":
        return sniff.content_type(fmt)
    declared = (declared or "").split(";")[0].strip().lower()
    if _MEDIA_TYPE.match(declared) and declared not in _NOT_FILE_TYPES and declared not in _KNOWN_TYPES:
        return declared
    return "application/octet-stream"


async def create(ctx: AppContext, identity: Identity, *, key: str, size: int, sha256: str, filename: str,
                 declared_type: str | None = None, origin: str = "upload", fmt: str | None = None,
                 cache_key: str | None = None) -> File:
    """Record a stored object as a file of `identity` (an upload once clamd finds it clean, when uploads are
    scanned); the object is removed if the row cannot be written."""
    record = await examine(ctx, identity, key=key, size=size, sha256=sha256, filename=filename,
                           declared_type=declared_type, origin=origin, fmt=fmt, cache_key=cache_key)
    return await save(ctx, record)


async def examine(ctx: AppContext, identity: Identity, *, key: str, size: int, sha256: str, filename: str,
                  declared_type: str | None = None, origin: str = "upload", fmt: str | None = None,
                  cache_key: str | None = None) -> File:
    """`create` up to writing the row: the object scanned (an upload) and sniffed, and the row that would record
    it; `save` writes it (a one-shot conversion answered from the result cache never needs it written). The
    object is removed if it is refused."""
    try:
        if origin == "upload":
            await scanning.scan_upload(ctx, key, size)
        if fmt is None:
            fmt = await ctx.storage.sniff(key, sniff.extension_of(filename))
        return new_record(ctx, identity, key=key, size=size, sha256=sha256, filename=filename, fmt=fmt,
                          declared_type=declared_type, origin=origin, cache_key=cache_key)
    except BaseException:
        await ctx.storage.delete(key)
        raise


async def save(ctx: AppContext, record: File) -> File:
    """Write the row `examine` made; its object is removed if the row cannot be written."""
    try:
        async with ctx.sessionmaker() as session:
            session.add(record)
            await session.commit()
        return record
    except BaseException:
        await ctx.storage.delete(record.storage_key)
        raise


def new_record(ctx: AppContext, identity: Identity, *, key: str, size: int, sha256: str, filename: str, fmt: str,
               declared_type: str | None = None, origin: str = "upload", cache_key: str | None = None) -> File:
    """The row that records a stored object of format `fmt` as a file of `identity`, for the caller to add in a
    transaction of its own (`create` adds it alone)."""
    now = utcnow()
    return File(id=new_id(), user_id=identity.user_id, session_id=None if identity.user_id else identity.session_id,
                filename=filename, content_type=_content_type(fmt, declared_type),
                format=None if fmt == "bin" else fmt,
                size=size, sha256=sha256, storage_key=key, origin=origin, cache_key=cache_key,
                created_at=now, expires_at=now + dt.timedelta(seconds=retention_seconds(ctx, identity)))


async def list_owned(ctx: AppContext, identity: Identity, limit: int = 100, offset: int = 0) -> list[File]:
    async with ctx.reader() as session:
        rows = await session.scalars(
            select(File).where(File.owned_by(identity), File.expires_at > utcnow())
            .order_by(File.created_at.desc(), File.id).limit(limit).offset(offset))
        return list(rows)


async def delete_owned(ctx: AppContext, identity: Identity, file_id: str) -> None:
    record = await get_owned(ctx, File, identity, file_id)
    await forget(ctx, [record.id])
    await ctx.storage.delete(record.storage_key)


async def forget(ctx: AppContext, remove: list[str], hide: list[str] = ()) -> None:
    """Take files away from their owner in one transaction: the rows of `remove` deleted, those of `hide` kept
    only for the result cache (no listing or download shows them; they go when they expire). The bytes stay
    (a one-shot result still being sent; cleanup reaps orphans)."""
    async with ctx.sessionmaker() as session:
        if remove:
            await session.execute(delete(File).where(File.id.in_(remove)))
        if hide:
            await session.execute(update(File).where(File.id.in_(hide)).values(origin=HIDDEN))
        await session.commit()


async def cleanup(ctx: AppContext, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete expired files, rows whose object is gone, objects without a row and what unfinished writes left
    (temporary files, stale multipart uploads)."""
    now = now or utcnow()
    report = {"expired": 0, "missing_objects": 0, "orphan_objects": 0, "stale_partials": 0}
    async with ctx.sessionmaker() as session:
        expired = list(await session.scalars(select(File).where(File.expires_at <= now)))
        for record in expired:
            await ctx.storage.delete(record.storage_key)
        if expired:
            await session.execute(delete(File).where(File.id.in_([r.id for r in expired])))
        report["expired"] = len(expired)
        rows = list(await session.execute(select(File.id, File.storage_key)))
        stored = await ctx.storage.inventory()  # (after the rows: an object a row names was written before it)
        missing = [file_id for file_id, key in rows if key not in stored]
        if missing:
            await session.execute(delete(File).where(File.id.in_(missing)))
        report["missing_objects"] = len(missing)
        await session.commit()
    known = {key for _, key in rows}
    cutoff = now.timestamp() - ORPHAN_GRACE_SECONDS
    for key, written_at in stored.items():
        if key not in known and written_at < cutoff:
            await ctx.storage.delete(key)
            report["orphan_objects"] += 1
    report["stale_partials"] = await ctx.storage.sweep(cutoff)
    log.info("cleanup: %s", report)
    return report


async def verify(ctx: AppContext) -> list[dict[str, Any]]:
    """Re-hash every stored file; return the ones whose bytes no longer match their sha256 (or are missing)."""
    async with ctx.sessionmaker() as session:
        rows = list(await session.execute(select(File.id, File.storage_key, File.size, File.sha256)))
    problems = []
    for file_id, key, size, sha256 in rows:
        actual = await ctx.storage.verify(key)
        if actual is None:
            problems.append({"id": file_id, "problem": "missing"})
        elif actual != (size, sha256):
            problems.append({"id": file_id, "problem": "mismatch", "expected": sha256, "actual": actual[1]})
    return problems


__all__ = ["as_json", "cleanup", "create", "delete_owned", "examine", "get_owned", "list_owned", "new_record", "save",
           "verify"]
