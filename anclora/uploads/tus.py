"""Resumable uploads (tus 1.0.0): created with their length, appended to by any number of requests (from any
server process), and a file of their owner once the last byte is in.

The bytes wait in storage's parts (a file `resumable/<id>.part` on the local backend; a multipart upload and its
incomplete last piece on S3); the row's `offset` counts the bytes known to be durable. One request at a time may
append: it takes the row's lock (`locked_until`, renewed while bytes arrive) with a guarded UPDATE that also
checks the client's `Upload-Offset`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import uuid
from email.utils import format_datetime
from typing import Any

from sqlalchemy import delete, or_, select, update

from .. import files
from ..db.base import iso, new_id, utcnow
from ..db.models import File, ResumableUpload
from ..errors import AncloraError, BadRequest, Conflict, NotFound
from ..identity import Identity, seal_session, unseal_session
from .plain import sanitize_filename

VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
LOCK_SECONDS = 15.0  # a PATCH holds the upload this long past its last renewal (after a crash: until then)
_METADATA_KEY = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
MAX_METADATA_BYTES = 4096
HASHES = "hashes"  # in ctx.state("tus"): upload id -> (offset, sha256 object) for uploads this process follows
MAX_HASHES = 10_000


def hash_so_far(ctx, upload_id: str, offset: int):
    """The sha256 object of the upload's first `offset` bytes when this process has seen them all (else None: the
    file is hashed when it completes)."""
    if offset == 0:
        return hashlib.sha256()
    known = ctx.state("tus").setdefault(HASHES, {}).pop(upload_id, None)
    return known[1] if known is not None and known[0] == offset else None


def remember_hash(ctx, upload_id: str, offset: int, digest) -> None:
    hashes = ctx.state("tus").setdefault(HASHES, {})
    if len(hashes) >= MAX_HASHES:  # abandoned uploads: forget the oldest
        del hashes[next(iter(hashes))]
    hashes[upload_id] = (offset, digest)


class ChecksumMismatch(AncloraError):
    status = 460  # the tus checksum extension's own status
    code = "checksum_mismatch"
    message = "The bytes sent do not match their Upload-Checksum; they were discarded."


class UnsupportedVersion(AncloraError):
    status = 412
    code = "unsupported_version"
    message = f"This server speaks tus {VERSION}: send `Tus-Resumable: {VERSION}`."


def parse_metadata(header: str | None) -> dict[str, str]:
    """`Upload-Metadata: filename d29ybGQ=,filetype dGV4dC9wbGFpbg==` as a dict of text (a key alone maps to "")."""
    if not header:
        return {}
    if len(header) > MAX_METADATA_BYTES:
        raise BadRequest(f"Upload-Metadata is longer than {MAX_METADATA_BYTES} bytes.")
    metadata = {}
    for pair in header.split(","):
        key, _, value = pair.strip().partition(" ")
        if not _METADATA_KEY.match(key) or key in metadata:
            raise BadRequest("Upload-Metadata has a bad or repeated key.", details={"key": key[:64]})
        try:
            metadata[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest("Upload-Metadata values must be base64 of UTF-8 text.", details={"key": key}) from None
    return metadata


def metadata_header(metadata: dict[str, str]) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
                    for key, value in metadata.items())


def parse_checksum(header: str | None):
    """`Upload-Checksum: sha256 <base64 digest>` as (a new hash object, the expected digest), or None."""
    if not header:
        return None
    algorithm, _, value = header.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise BadRequest(f"Upload-Checksum algorithm must be one of {', '.join(CHECKSUMS)}.")
    try:
        expected = base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        raise BadRequest("Upload-Checksum is not base64.") from None
    return CHECKSUMS[algorithm](), expected


def http_date(moment: dt.datetime) -> str:
    return format_datetime(moment.astimezone(dt.timezone.utc), usegmt=True)


def as_json(row: ResumableUpload) -> dict[str, Any]:
    return {"id": row.id, "length": row.length, "offset": row.offset, "metadata": row.upload_metadata,
            "file_id": row.file_id, "created_at": iso(row.created_at), "expires_at": iso(row.expires_at)}


async def create(ctx, identity: Identity, length: int, metadata: dict[str, str],
                 session_token: str | None = None) -> ResumableUpload:
    """A new, empty upload of `length` bytes, kept as long as the caller's files are. An anonymous caller's
    `session_token` is kept sealed, so that answers to whoever holds the upload's URL can name its session."""
    upload_id = new_id()  # (uuid4: 122 random bits from the system's CSPRNG, the capability of an anonymous upload)
    sealed = None
    if identity.is_anonymous and session_token:
        sealed = seal_session(session_token, ctx.settings.jwt_secret_key, upload_id)
    row = ResumableUpload(id=upload_id, user_id=identity.user_id,
                          session_id=None if identity.user_id else identity.session_id,
                          owner_key=identity.owner_key, sealed_session=sealed, length=length, offset=0,
                          upload_metadata=metadata,
                          expires_at=utcnow() + dt.timedelta(seconds=files.retention_seconds(ctx, identity)))
    async with ctx.sessionmaker() as session:
        session.add(row)
        await session.commit()
    await ctx.storage.create_part(row.id)
    return row


def session_token(ctx, row: ResumableUpload) -> str | None:
    """The session an anonymous upload belongs to, as the token its client sends back (`X-Anclora-Session`)."""
    if row.sealed_session is None:
        return None
    return unseal_session(row.sealed_session, ctx.settings.jwt_secret_key, row.id)


def owner_of(identity: Identity, row: ResumableUpload) -> Identity:
    """Whose the upload (and the file it becomes) is: the caller, or the session that created it."""
    if identity.owner_key == row.owner_key:
        return identity
    return Identity(address=identity.address, user_id=row.user_id, session_id=row.session_id)


def reachable_by(identity: Identity):
    """The uploads a caller may use: its own, and any anonymous one whose URL it holds (the URL is the
    capability, as in tusd: a client without a cookie jar can still resume). A signed-in user's upload stays
    bound to that user."""
    return or_(ResumableUpload.owner_key == identity.owner_key, ResumableUpload.user_id.is_(None))


async def get_reachable(ctx, identity: Identity, upload_id: str) -> ResumableUpload:
    """An unexpired upload the caller may use, or NotFound (the same whether it belongs to someone else or not)."""
    async with ctx.sessionmaker() as session:
        row = await session.scalar(select(ResumableUpload).where(
            ResumableUpload.id == upload_id, reachable_by(identity), ResumableUpload.expires_at > utcnow()))
    if row is None:
        raise NotFound("No such upload.")
    return row


async def lock(ctx, identity: Identity, upload_id: str, offset: int) -> tuple[ResumableUpload, str]:
    """Take the upload for one PATCH at `offset`; (the row, the lock's token). Conflict when the offset is not the
    upload's, or another request holds the lock. One statement; the row is read only to explain a refusal."""
    now, token = utcnow(), uuid.uuid4().hex
    async with ctx.sessionmaker() as session:
        locked = await session.scalar(
            update(ResumableUpload)
            .where(ResumableUpload.id == upload_id, reachable_by(identity), ResumableUpload.expires_at > now,
                   ResumableUpload.offset == offset, ResumableUpload.offset < ResumableUpload.length,
                   ResumableUpload.file_id.is_(None),
                   or_(ResumableUpload.locked_until.is_(None), ResumableUpload.locked_until < now))
            .values(lock_token=token, locked_until=now + dt.timedelta(seconds=LOCK_SECONDS))
            .returning(ResumableUpload), execution_options={"populate_existing": True})
        await session.commit()
    if locked is not None:
        return locked, token
    row = await get_reachable(ctx, identity, upload_id)
    if row.file_id is not None or row.offset == row.length:
        raise Conflict("The upload is already complete.", details={"offset": row.offset})
    if row.offset != offset:
        raise Conflict("Upload-Offset is not the upload's offset.", details={"offset": row.offset},
                       headers={"Upload-Offset": str(row.offset)})
    raise Conflict("Another request is appending to this upload.")


async def renew(ctx, upload_id: str, token: str) -> bool:
    """Extend a PATCH's lock; False when it has lost it (it ran out and another request took the upload)."""
    async with ctx.sessionmaker() as session:
        renewed = await session.execute(
            update(ResumableUpload).where(ResumableUpload.id == upload_id, ResumableUpload.lock_token == token)
            .values(locked_until=utcnow() + dt.timedelta(seconds=LOCK_SECONDS)))
        await session.commit()
    return renewed.rowcount == 1


async def release(ctx, upload_id: str, token: str, offset: int, file_id: str | None = None
                  ) -> ResumableUpload | None:
    """Record `offset` bytes as safely written (and the file they became, if `file_id`) and free the upload for
    the next PATCH; None if the lock was lost."""
    async with ctx.sessionmaker() as session:
        row = await session.scalar(
            update(ResumableUpload).where(ResumableUpload.id == upload_id, ResumableUpload.lock_token == token)
            .values(offset=offset, file_id=file_id, lock_token=None, locked_until=None).returning(ResumableUpload),
            execution_options={"populate_existing": True})
        await session.commit()
    return row


async def complete(ctx, identity: Identity, row: ResumableUpload, sha256: str | None = None) -> File:
    """Turn a fully received upload into a file of its owner (hashed unless `sha256` is known, moved into storage).
    The caller holds the upload's lock (or it has no bytes at all), so nothing else touches its bytes meanwhile."""
    key, size, sha256 = await ctx.storage.import_part(row.id, row.length, sha256)
    metadata = row.upload_metadata or {}
    return await files.create(ctx, owner_of(identity, row), key=key, size=size, sha256=sha256,
                              filename=sanitize_filename(metadata.get("filename")),
                              declared_type=metadata.get("filetype"))


async def record_file(ctx, upload_id: str, file_id: str) -> None:
    """An empty upload became its file without any PATCH."""
    async with ctx.sessionmaker() as session:
        await session.execute(update(ResumableUpload).where(ResumableUpload.id == upload_id).values(file_id=file_id))
        await session.commit()


async def forget(ctx, upload_id: str) -> None:
    """Remove an upload's row and bytes, whatever its state (its completion failed half-way)."""
    async with ctx.sessionmaker() as session:
        await session.execute(delete(ResumableUpload).where(ResumableUpload.id == upload_id))
        await session.commit()
    await ctx.storage.delete_part(upload_id)


async def terminate(ctx, identity: Identity, upload_id: str) -> ResumableUpload:
    """Forget an upload and its bytes (its file, if it was completed, stays). Conflict while a PATCH writes."""
    row = await get_reachable(ctx, identity, upload_id)
    async with ctx.sessionmaker() as session:
        gone = await session.execute(delete(ResumableUpload).where(
            ResumableUpload.id == row.id,
            or_(ResumableUpload.locked_until.is_(None), ResumableUpload.locked_until < utcnow())))
        await session.commit()
    if gone.rowcount == 0:
        raise Conflict("A request is appending to this upload; try again when it has ended.")
    await ctx.storage.delete_part(row.id)
    return row


async def cleanup(ctx, now: dt.datetime | None = None) -> int:
    """Remove expired uploads with their bytes, and bytes no upload owns; how many uploads were removed."""
    now = now or utcnow()
    async with ctx.sessionmaker() as session:
        expired = list(await session.scalars(select(ResumableUpload.id).where(ResumableUpload.expires_at <= now)))
        if expired:
            await session.execute(delete(ResumableUpload).where(ResumableUpload.id.in_(expired)))
        known = set(await session.scalars(select(ResumableUpload.id)))
        await session.commit()

    for upload_id in expired:
        await ctx.storage.delete_part(upload_id)
    cutoff = now.timestamp() - files.ORPHAN_GRACE_SECONDS  # (a younger one may belong to an upload being created)
    for name, written_at in await ctx.storage.parts():
        if name not in known and written_at < cutoff:
            await ctx.storage.delete_part(name)
    return len(expired)
