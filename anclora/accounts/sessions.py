"""Sign-in sessions: an access JWT plus an opaque refresh token that rotates on every use.

Refresh tokens of one sign-in share a family. Presenting a token that was already used means it was copied:
the whole family is revoked, so neither the thief nor the owner can go on with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.base import new_id, utcnow
from ..db.models import RefreshToken, User
from ..errors import Unauthorized
from . import tokens

if TYPE_CHECKING:
    from ..context import AppContext


async def issue(session: AsyncSession, ctx: "AppContext", user: User, family_id: str | None = None) -> dict:
    """A new token pair for `user` (a new family unless continuing one); the caller commits."""
    refresh = tokens.new_secret("rt_")
    session.add(RefreshToken(user_id=user.id, family_id=family_id or new_id(), token_hash=tokens.digest(refresh),
                             expires_at=utcnow() + tokens.REFRESH_TTL))
    return pair(ctx, user.id, refresh)


def pair(ctx: "AppContext", user_id: str, refresh: str) -> dict:
    return {"access_token": tokens.issue_access(ctx.settings, user_id), "refresh_token": refresh,
            "token_type": "Bearer", "expires_in": int(tokens.ACCESS_TTL.total_seconds())}


async def rotate(ctx: "AppContext", refresh: str) -> tuple[User, dict]:
    """Trade a refresh token for a new pair; a reused token revokes its family."""
    if not isinstance(refresh, str) or not refresh:
        raise Unauthorized("The refresh token is invalid.")
    async with ctx.sessionmaker() as session:
        row = (await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(refresh)))).scalar_one_or_none()
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
            raise Unauthorized("The refresh token is invalid.")
        # Mark it used only if nobody did first: of two concurrent uses, one wins and the other is a reuse.
        claimed = await session.execute(update(RefreshToken).where(
            RefreshToken.id == row.id, RefreshToken.used_at.is_(None)).values(used_at=utcnow()))
        if claimed.rowcount != 1:
            await revoke_family(session, row.family_id)
            await session.commit()
            raise Unauthorized("The refresh token was already used; this sign-in has been ended.")
        user = await session.get(User, row.user_id)
        if user is None or not user.is_active:
            await session.rollback()
            raise Unauthorized("The refresh token is invalid.")
        result = await issue(session, ctx, user, row.family_id)
        await session.commit()
        return user, result


async def revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(update(RefreshToken).where(
        RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None)).values(revoked_at=utcnow()))


async def revoke_user(session: AsyncSession, user_id: str) -> None:
    await session.execute(update(RefreshToken).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)).values(revoked_at=utcnow()))


async def revoke_token(ctx: "AppContext", refresh: str) -> None:
    """Log out: end the sign-in the refresh token belongs to (an unknown token is quietly ignored)."""
    if not isinstance(refresh, str) or not refresh:
        return
    async with ctx.sessionmaker() as session:
        row = (await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(refresh)))).scalar_one_or_none()
        if row is not None:
            await revoke_family(session, row.family_id)
            await session.commit()
