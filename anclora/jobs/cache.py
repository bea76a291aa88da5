"""The result cache: a conversion whose input, converters and options match an earlier result reuses its bytes.

A result is reusable while the file it was stored as has not expired (it follows the owner's retention) and has
not been deleted; with `cache_scope = "owner"` only its owner's conversions reuse it, with `"global"` anyone's,
and the reuser gets a file of its own (a hard link of the bytes), never the original's id or owner. A one-shot
conversion (`POST /api/convert`) keeps no file: it is answered with the original's bytes, read from its object.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
from typing import Any, AsyncGenerator, AsyncIterator, NamedTuple

from sqlalchemy import bindparam, select

from .. import files
from ..conversion.planner import Route
from ..db import direct
from ..db.base import utcnow
from ..db.models import File
from ..identity import Identity


def normalized_options(schema: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The options with the schema's defaults filled in, so that `{}` and `{"quality": 85}` (the default) match."""
    defaults = {name: spec["default"] for name, spec in schema.get("properties", {}).items()
                if isinstance(spec, dict) and "default" in spec}
    return {**defaults, **options}


def key_for(sha256: str, route: Route, options: dict[str, Any]) -> str:
    """The cache key: sha256 of the canonical JSON of the input's sha256, each step's converter with its own,
    its plugin's and its engine's versions, and the normalized options."""
    steps = [[step.converter.name, step.converter.version, getattr(step.converter, "plugin_version", ""),
              step.converter.engine_version(), step.source, step.target] for step in route.steps]
    document = {"input": sha256, "steps": steps, "options": normalized_options(route.options_schema, options)}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def enabled(ctx, requested: bool) -> bool:
    return requested and ctx.settings.cache_scope != "off"


async def lookup(ctx, identity: Identity, key: str, filename: str) -> File | None:
    """A new file of the caller's holding the bytes of the newest unexpired result stored under `key` that the
    caller may reuse; None on a miss. Its row is not written yet: the caller adds it with the conversion that
    reuses it. The copy is not itself a cache entry, so cached bytes live no longer than the result that made
    them."""
    found = await _newest(ctx, identity, key)
    copy = await _copy(ctx, identity, found, filename) if found is not None else None
    ctx.metrics.result_cache.labels("hit" if copy else "miss").inc()
    return copy


class OpenedBytes:
    """A stored object's bytes whose first chunk is read: from then on its deletion does not cut them short (an
    open local file keeps its bytes; an S3 GET under way is served whole). Close it when it is not read to its
    end."""

    def __init__(self, first: bytes, rest: AsyncGenerator[bytes, None]) -> None:
        self._first, self._rest = first, rest

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._first:
            yield self._first
        async for chunk in self._rest:
            yield chunk

    async def aclose(self) -> None:
        await self._rest.aclose()


class Hit(NamedTuple):
    """A result to answer with at once: what its answer needs of its row (`REUSED`; another owner's, with the
    global scope: no id or owner is read) and its bytes, already opened."""
    result: Any
    chunks: OpenedBytes


async def open_hit(ctx, identity: Identity, key: str, connection) -> Hit | None:
    """The newest reusable result under `key` with its bytes opened, for an answer that keeps no file of its
    own (a one-shot conversion); None on a miss, and when the bytes went between the lookup and the opening.
    Looked up on the caller's `connection` (an AsyncConnection), which goes on to record the conversion."""
    found = await _newest(ctx, identity, key, connection)
    chunks = await _opened(ctx, found) if found is not None else None
    ctx.metrics.result_cache.labels("hit" if chunks else "miss").inc()
    return Hit(found, chunks) if chunks else None


# What a hit needs of the cached result's row: selected as columns, not loaded as a File (the ORM's load costs a
# cache hit more than its statement does)
REUSED = (File.storage_key, File.size, File.sha256, File.content_type, File.format)


# The `REUSED` columns of a row selected on SQLite's own thread (`direct`), by name as SQLAlchemy's rows have them
Reused = collections.namedtuple("Reused", [column.key for column in REUSED])


class _BoundOwner(NamedTuple):
    """An `Identity` as `File.owned_by` reads it, whose values are bound at each execution."""
    user_id: Any
    session_id: Any = bindparam("session_id")
    owner_key: Any = bindparam("owner_key")


@functools.cache
def _newest_query(owners: bool, signed_in: bool):
    """The query of the newest reusable result, built once for each kind of caller with its values as parameters
    (a statement built and keyed anew costs a cache hit 0.4 ms of CPU): `owners`, with the owner scope, adds
    `File.owned_by(identity, hidden=True)` for a caller `signed_in` or not."""
    query = select(*REUSED).where(File.cache_key == bindparam("key"), File.expires_at > bindparam("now"))
    if owners:
        query = query.where(File.owned_by(_BoundOwner(bindparam("user_id") if signed_in else None), hidden=True))
    return query.order_by(File.expires_at.desc()).limit(1)


async def _newest(ctx, identity: Identity, key: str, connection=None):
    """The `REUSED` columns of the newest reusable result under `key`, or None; on `connection`, else on one of
    its own."""
    owners = ctx.settings.cache_scope == "owner"
    query = _newest_query(owners, not identity.is_anonymous)
    values = {"key": key, "now": utcnow(), "user_id": identity.user_id, "session_id": identity.session_id,
              "owner_key": identity.owner_key}  # (the query binds those its kind of caller needs)
    if connection is not None and direct.usable(connection):
        found = await direct.first(connection, direct.compiled(query, connection.dialect), values)
        return None if found is None else Reused._make(found)
    if connection is not None:
        return (await connection.execute(query, values)).first()
    async with ctx.engine.connect() as own:
        return (await own.execute(query, values)).first()


async def _opened(ctx, found) -> OpenedBytes | None:
    chunks = ctx.storage.read(found.storage_key, chunk_size=ctx.settings.chunk_size)
    try:
        first = await anext(chunks, b"")
    except FileNotFoundError:  # deleted or expired since it was found: the conversion runs
        return None
    return OpenedBytes(first, chunks)


async def _copy(ctx, identity: Identity, cached, filename: str) -> File | None:
    try:
        key = await ctx.storage.link(cached.storage_key)
    except FileNotFoundError:  # deleted or expired since it was found: the conversion runs
        return None
    return files.new_record(ctx, identity, key=key, size=cached.size, sha256=cached.sha256, filename=filename,
                            origin="conversion", fmt=cached.format or "bin")
