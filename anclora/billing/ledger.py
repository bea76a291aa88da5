"""The credits ledger: a balance is the sum of a user's entries; (reason, source) makes each entry happen once.

Writers lock the user's row first (`lock_user`), so two charges cannot both spend the same credits: on
PostgreSQL the UPDATE takes a row lock; on SQLite it takes the database's write lock.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.base import utcnow
from ..db.models import CreditEntry, User


async def lock_user(session: AsyncSession, user_id: str) -> None:
    await session.execute(update(User).where(User.id == user_id).values(updated_at=utcnow()))


async def balance(session: AsyncSession, user_id: str) -> int:
    total = await session.execute(
        select(func.coalesce(func.sum(CreditEntry.delta), 0)).where(CreditEntry.user_id == user_id))
    return int(total.scalar_one())


async def has_entry(session: AsyncSession, reason: str, source: str) -> bool:
    found = await session.execute(
        select(CreditEntry.id).where(CreditEntry.reason == reason, CreditEntry.source == source))
    return found.first() is not None


async def add(session: AsyncSession, user_id: str, delta: int, reason: str, source: str) -> bool:
    """Write one entry unless (reason, source) exists already; the caller holds the user's lock and commits."""
    if delta == 0 or await has_entry(session, reason, source):
        return False
    session.add(CreditEntry(user_id=user_id, delta=delta, reason=reason, source=source, created_at=utcnow()))
    return True


async def current_balance(ctx, user_id: str) -> int:
    async with ctx.sessionmaker() as session:
        return await balance(session, user_id)
