"""Selling credit packs: a Stripe Checkout Session per purchase, recorded before the buyer pays."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from ..db.base import utcnow
from ..db.models import Purchase, User
from ..errors import AncloraError
from . import packs, stripe_api

if TYPE_CHECKING:
    from ..context import AppContext
    from ..policy import CreditPack

log = logging.getLogger("anclora.billing")


def _base_url(ctx: "AppContext") -> str:
    return ctx.settings.public_url.rstrip("/") or f"http://{ctx.settings.host}:{ctx.settings.port}"


async def start(ctx: "AppContext", user_id: str, pack_id: Any, idempotency_key: str | None = None) -> dict:
    """Open a Checkout Session for `pack_id`; the same idempotency key gives the same session."""
    pack = packs.find(ctx, pack_id)
    key = f"checkout:{user_id}:{pack.id}:{idempotency_key or uuid.uuid4().hex}"
    async with ctx.sessionmaker() as session:
        email = (await session.get(User, user_id)).email
    base = _base_url(ctx)
    checkout = await stripe_api.create_checkout_session(ctx, {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": pack.currency, "unit_amount": pack.amount_cents, "product_data": {"name": pack.name}}}],
        "success_url": f"{base}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{base}/billing/canceled",
        "client_reference_id": user_id,
        "customer_email": email,
        "metadata": {"user_id": user_id, "pack": pack.id},
    }, key)
    await _record(ctx, checkout.id, user_id, pack)
    return {"checkout_url": checkout.url, "session_id": checkout.id, "pack": pack.as_json()}


async def _record(ctx: "AppContext", session_id: str, user_id: str, pack: CreditPack) -> None:
    async with ctx.sessionmaker() as session:
        session.add(Purchase(id=session_id, user_id=user_id, pack=pack.id, credits=pack.credits,
                             amount_cents=pack.amount_cents, currency=pack.currency, status="open",
                             created_at=utcnow(), updated_at=utcnow()))
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()  # the same session again (an idempotent retry): recorded already


async def topup_url(ctx: "AppContext", user_id: str, credits_needed: int, balance: int) -> str | None:
    """A checkout link for the 402 answer: the smallest pack that covers what is missing. One session per pack,
    balance and day, so repeated refusals (and dry runs) reuse it instead of opening a session each time."""
    pack = packs.smallest_covering(ctx, credits_needed)
    key = f"topup:{balance}:{utcnow().date().isoformat()}"
    try:
        return (await start(ctx, user_id, pack.id, key))["checkout_url"]
    except AncloraError as error:
        log.warning("no checkout link for a 402: %s", error.message)
        return None
