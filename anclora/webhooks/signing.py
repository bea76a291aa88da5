"""Webhook secrets (created, rotated, the ones that sign now) and the `Anclora-Signature` header they make."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import AsyncIterable

from ..db.base import utcnow
from ..db.models import User
from ..errors import NotFound

PREVIOUS_SIGNS_FOR = dt.timedelta(hours=24)  # receivers have a day to switch to a rotated secret


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def signature(keys: list[str], timestamp: int, body: bytes) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, one `v1=` per key (current first)."""
    macs = [_mac(key, timestamp) for key in keys]
    for mac in macs:
        mac.update(body)
    return _header(timestamp, macs)


async def signature_of_stream(keys: list[str], timestamp: int, chunks: AsyncIterable[bytes]) -> str:
    """The signature of a body read from `chunks` (a stored file), without holding it in memory."""
    macs = [_mac(key, timestamp) for key in keys]
    async for chunk in chunks:
        for mac in macs:
            mac.update(chunk)
    return _header(timestamp, macs)


def _mac(key: str, timestamp: int):
    return hmac.new(key.encode(), f"{timestamp}.".encode(), hashlib.sha256)


def _header(timestamp: int, macs: list) -> str:
    return ",".join([f"t={timestamp}"] + [f"v1={mac.hexdigest()}" for mac in macs])


async def rotate(ctx, user_id: str) -> str:
    """A new secret for the user; the one it replaces keeps signing beside it for PREVIOUS_SIGNS_FOR."""
    async with ctx.sessionmaker() as session:
        user = await session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("No such user.")
        if user.webhook_secret:
            user.webhook_secret_previous, user.webhook_secret_rotated_at = user.webhook_secret, utcnow()
        user.webhook_secret = secret = new_secret()
        await session.commit()
    return secret


async def signing_keys(ctx, user_id: str) -> list[str]:
    """The secrets that sign a delivery now: the current one (created on first use, so a webhook is never sent
    unsigned for want of one), and the previous one during its last day."""
    async with ctx.sessionmaker() as session:
        user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if not user.webhook_secret:
        return [await rotate(ctx, user_id)]
    rotated = user.webhook_secret_rotated_at
    if user.webhook_secret_previous and rotated and utcnow() - rotated < PREVIOUS_SIGNS_FOR:
        return [user.webhook_secret, user.webhook_secret_previous]
    return [user.webhook_secret]
