"""Rewards: points, levels and rewards earned by converting (the built-in plugin `rewards` calls it).

Every successful conversion of a verified account earns points; points raise the level; milestones, streaks,
level-ups, verified referrals and purchases grant rewards that add credits to the ledger. Each reward is granted
once per source event (a unique row in `user_rewards`). Unverified accounts earn nothing, and referrals from the
same address or the same mailbox alias were never recorded (see `anclora.accounts.service`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..billing import ledger
from ..db.base import iso, utcnow
from ..db.models import Purchase, User, UserReward

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity

POINTS_PER_CONVERSION = 10
MILESTONES = {1: ("first_conversion", 5), 10: ("conversions_10", 10), 100: ("conversions_100", 50),
              1000: ("conversions_1000", 200)}
STREAK_DAYS, STREAK_CREDITS = 7, 10
LEVEL_UP_CREDITS = 5  # times the level reached
REFERRAL_CREDITS = 20
PURCHASE_BONUS_PERCENT = 10


def level_for(ctx: "AppContext", points: int) -> int:
    return max(1, sum(1 for needed in ctx.settings.level_points if points >= needed))


def next_level_points(ctx: "AppContext", points: int) -> int | None:
    return next((needed for needed in ctx.settings.level_points if needed > points), None)


async def grant(session, user_id: str, kind: str, source: str, points: int = 0, credits: int = 0) -> bool:
    """Record one reward (once per user, kind and source) and its credits; False if it was granted before."""
    seen = await session.execute(select(UserReward.id).where(
        UserReward.user_id == user_id, UserReward.reward_type == kind, UserReward.source == source))
    if seen.first() is not None:
        return False
    session.add(UserReward(user_id=user_id, reward_type=kind, source=source, points=points, credits=credits,
                           created_at=utcnow()))
    await ledger.add(session, user_id, credits, "reward", f"{user_id}:{kind}:{source}")
    return True


async def _conversions_rewarded(session, user_id: str) -> int:
    return (await session.execute(select(func.count()).select_from(UserReward).where(
        UserReward.user_id == user_id, UserReward.reward_type == "conversion"))).scalar_one()


async def _streak(session, user: User) -> None:
    today = utcnow().date()
    if user.last_conversion_on == today:
        return
    continued = user.last_conversion_on == today - dt.timedelta(days=1)
    user.streak_days = user.streak_days + 1 if continued else 1
    user.last_conversion_on = today
    if user.streak_days % STREAK_DAYS == 0:
        await grant(session, user.id, "daily_streak", today.isoformat(), credits=STREAK_CREDITS)


async def _levels(ctx: "AppContext", session, user: User) -> None:
    reached = level_for(ctx, user.points)
    while user.level < reached:
        user.level += 1
        await grant(session, user.id, "level_up", str(user.level), credits=LEVEL_UP_CREDITS * user.level)


async def _referral(session, user: User) -> None:
    """The referrer earns once the referred account is verified and has converted."""
    if user.referred_by_id is None:
        return
    referrer = await session.get(User, user.referred_by_id)
    if referrer is not None and referrer.is_verified and referrer.is_active:
        await grant(session, referrer.id, "referral", user.id, credits=REFERRAL_CREDITS)


async def _purchases(session, user: User) -> None:
    """A bonus for each paid pack; taken back (as far as the balance allows) if the payment is reversed."""
    bought = (await session.execute(select(Purchase).where(Purchase.user_id == user.id))).scalars()
    for purchase in bought:
        bonus = purchase.credits * PURCHASE_BONUS_PERCENT // 100
        if purchase.status == "paid":
            await grant(session, user.id, "purchase_bonus", purchase.id, credits=bonus)
        elif purchase.status in ("refunded", "disputed") and await ledger.has_entry(
                session, "reward", f"{user.id}:purchase_bonus:{purchase.id}"):
            available = await ledger.balance(session, user.id)
            await ledger.add(session, user.id, -min(bonus, available), "reward_reversal",
                             f"{user.id}:purchase_bonus:{purchase.id}")


async def conversion_succeeded(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity") -> None:
    if owner.user_id is None:
        return  # anonymous conversions earn nothing
    async with ctx.sessionmaker() as session:
        await ledger.lock_user(session, owner.user_id)
        user = await session.get(User, owner.user_id, populate_existing=True)
        if not user.is_verified or not await grant(session, user.id, "conversion", conversion["id"],
                                                   points=POINTS_PER_CONVERSION):
            await session.rollback()
            return
        user.points += POINTS_PER_CONVERSION
        count = await _conversions_rewarded(session, user.id)  # autoflush counts the new row
        if count in MILESTONES:
            kind, credits = MILESTONES[count]
            await grant(session, user.id, kind, kind, credits=credits)
            if count == 1:
                await _referral(session, user)
        await _streak(session, user)
        await _levels(ctx, session, user)
        await _purchases(session, user)
        await session.commit()


async def summary(ctx: "AppContext", user_id: str) -> dict[str, Any]:
    """`GET /api/rewards`: level, points and the rewards granted (per-conversion points counted, not listed)."""
    async with ctx.sessionmaker() as session:
        await ledger.lock_user(session, user_id)
        user = await session.get(User, user_id, populate_existing=True)
        if user.is_verified:
            await _purchases(session, user)
        await session.commit()
        rows = (await session.execute(select(UserReward).where(
            UserReward.user_id == user_id, UserReward.reward_type != "conversion")
            .order_by(UserReward.created_at.desc()).limit(200))).scalars()
        rewards = [{"type": r.reward_type, "points": r.points, "credits": r.credits, "source": r.source,
                    "created_at": iso(r.created_at)} for r in rows]
        converted = await _conversions_rewarded(session, user_id)
    return {"level": user.level, "points": user.points, "next_level_points": next_level_points(ctx, user.points),
            "streak_days": user.streak_days, "conversions": converted, "rewards": rewards}
