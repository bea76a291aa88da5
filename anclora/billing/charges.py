"""Charging conversions: the free daily allowance first, then credits; a failed or canceled conversion gives
its credits back. Each conversion is charged and refunded at most once (keyed on its id)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts import limits_for
from ..counters import day_keys, seconds_to_midnight
from ..db.base import iso, utcnow
from ..db.models import ConversionTransaction
from ..errors import PaymentRequired
from . import checkout, ledger

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity

log = logging.getLogger("anclora.billing")


async def _free_slot_left(ctx: "AppContext", identity: "Identity", take: bool) -> bool:
    allowance = limits_for(ctx, identity)["free_conversions_per_day"]
    [key] = day_keys(identity, "free")
    used, _ = await ctx.counters.hit(key, seconds_to_midnight(), amount=1 if take else 0)
    return used <= allowance if take else used < allowance


async def _refuse(ctx: "AppContext", identity: "Identity", cost: int, balance: int):
    url = await checkout.topup_url(ctx, identity.user_id, cost - balance, balance)
    return PaymentRequired(f"This conversion costs {cost} credits and {balance} are left.",
                           details={"cost": cost, "balance": balance, "checkout_url": url})


async def authorize(ctx: "AppContext", identity: "Identity", conversion: dict[str, Any]) -> None:
    """Charge a signed-in caller for a conversion (anonymous callers are bounded by their limits instead)."""
    cost = int(conversion.get("cost") or 0)
    if identity.is_anonymous:
        return
    if conversion.get("dry_run"):
        if cost and not await _free_slot_left(ctx, identity, take=False):
            balance = await ledger.current_balance(ctx, identity.user_id)
            if balance < cost:
                raise await _refuse(ctx, identity, cost, balance)
        return
    if await _transaction(ctx, conversion["id"]) is not None:
        return  # charged already (a retried request)
    free = cost == 0 or await _free_slot_left(ctx, identity, take=True)
    await _record_charge(ctx, identity, conversion, cost, free)


async def _transaction(ctx: "AppContext", conversion_id: str) -> ConversionTransaction | None:
    async with ctx.sessionmaker() as session:
        return (await session.execute(select(ConversionTransaction).where(
            ConversionTransaction.conversion_id == conversion_id))).scalar_one_or_none()


async def _record_charge(ctx, identity, conversion: dict[str, Any], cost: int, free: bool) -> None:
    async with ctx.sessionmaker() as session:
        await ledger.lock_user(session, identity.user_id)
        if not free:
            balance = await ledger.balance(session, identity.user_id)
            if balance < cost:
                await session.rollback()
                raise await _refuse(ctx, identity, cost, balance)
            await ledger.add(session, identity.user_id, -cost, "conversion", conversion["id"])
        session.add(ConversionTransaction(
            user_id=identity.user_id, conversion_id=conversion["id"], credits=0 if free else cost, free=free,
            payment_status="free" if free else "paid", created_at=utcnow(),
            description=f"{conversion.get('from')} to {conversion.get('to')} ({conversion.get('converter')})"[:255]))
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()  # the same conversion charged concurrently: that charge stands


async def refund(ctx: "AppContext", conversion: dict[str, Any]) -> None:
    """Give back what a conversion that did not succeed was charged."""
    found = await _transaction(ctx, conversion["id"])
    if found is None or found.payment_status == "refunded":
        return
    async with ctx.sessionmaker() as session:
        await ledger.lock_user(session, found.user_id)
        transaction = await session.get(ConversionTransaction, found.id, populate_existing=True)
        if transaction.payment_status == "refunded":
            return
        if not transaction.free:
            await ledger.add(session, transaction.user_id, transaction.credits, "refund", conversion["id"])
        transaction.payment_status = "refunded"
        await session.commit()


async def transactions(ctx: "AppContext", user_id: str, limit: int = 100, offset: int = 0) -> list[dict]:
    async with ctx.reader() as session:
        rows = (await session.execute(select(ConversionTransaction).where(
            ConversionTransaction.user_id == user_id).order_by(ConversionTransaction.created_at.desc())
            .limit(limit).offset(offset))).scalars()
        return [{"id": row.id, "conversion_id": row.conversion_id, "credits": row.credits, "free": row.free,
                 "payment_status": row.payment_status, "description": row.description,
                 "created_at": iso(row.created_at)} for row in rows]
