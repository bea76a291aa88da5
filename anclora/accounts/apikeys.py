"""API keys for scripts: shown once, stored as a sha256, revocable."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..db.base import iso, utcnow
from ..db.models import ApiKey, User
from ..errors import NotFound, ValidationFailed
from . import tokens

if TYPE_CHECKING:
    from ..context import AppContext

PREFIX = "ak_"
MAX_KEYS = 50
TOUCH_EVERY = dt.timedelta(minutes=1)  # last_used_at is a hint; do not write on every request


def as_json(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "prefix": key.prefix, "created_at": iso(key.created_at),
            "last_used_at": iso(key.last_used_at)}


async def create(ctx: "AppContext", user_id: str, name: Any) -> dict[str, Any]:
    name = name if isinstance(name, str) else ""
    if len(name) > 100:
        raise ValidationFailed("The name is longer than 100 characters.")
    secret = tokens.new_secret(PREFIX)
    async with ctx.sessionmaker() as session:
        if len(await _active(session, user_id)) >= MAX_KEYS:
            raise ValidationFailed(f"An account may hold at most {MAX_KEYS} API keys.")
        key = ApiKey(user_id=user_id, name=name, prefix=secret[:len(PREFIX) + 6],
                     key_hash=tokens.digest(secret), created_at=utcnow())
        session.add(key)
        await session.commit()
    return {**as_json(key), "key": secret}


async def _active(session, user_id: str) -> list[ApiKey]:
    return list((await session.execute(select(ApiKey).where(
        ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)).order_by(ApiKey.created_at))).scalars())


async def list_keys(ctx: "AppContext", user_id: str) -> list[dict[str, Any]]:
    async with ctx.sessionmaker() as session:
        return [as_json(key) for key in await _active(session, user_id)]


async def revoke(ctx: "AppContext", user_id: str, key_id: str) -> None:
    async with ctx.sessionmaker() as session:
        key = await session.get(ApiKey, key_id)
        if key is None or key.user_id != user_id or key.revoked_at is not None:
            raise NotFound("No such API key.")
        key.revoked_at = utcnow()
        await session.commit()


async def owner(ctx: "AppContext", secret: str) -> User | None:
    """The active user holding this live key, or None."""
    async with ctx.sessionmaker() as session:
        row = (await session.execute(select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(
            ApiKey.key_hash == tokens.digest(secret), ApiKey.revoked_at.is_(None)))).one_or_none()
        if row is None or not row.User.is_active:
            return None
        now = utcnow()
        if row.ApiKey.last_used_at is None or now - row.ApiKey.last_used_at > TOUCH_EVERY:
            row.ApiKey.last_used_at = now
            await session.commit()
        return row.User
