"""Stripe webhooks: verify the raw body, then apply each event exactly once, in any order.

The event id is written in the same transaction as its effect, so ten concurrent deliveries make one effect and
nine duplicates. A purchase moves open → pending → paid, or to failed / refunded / disputed; once refunded or
disputed it is never credited, whichever event arrives first.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import mail
from ..db.base import utcnow
from ..db.models import Purchase, StripeEvent, User
from ..errors import BadRequest, ServiceUnavailable
from . import ledger, stripe_api

if TYPE_CHECKING:
    from ..context import AppContext

log = logging.getLogger("anclora.billing")
TOLERANCE_SECONDS = 300
MAX_BODY = 64 * 1024
OPEN = ("open", "pending")


def verify(ctx: "AppContext", payload: bytes, header: str | None) -> dict[str, Any]:
    """The event, if `Stripe-Signature` matches the raw body under one of the configured secrets."""
    import stripe  # here, not at import time: see stripe_api

    secrets = ctx.settings.stripe_webhook_secret
    if not secrets:
        # (Stripe retries for days: an hour gives the operator time to set STRIPE_WEBHOOK_SECRET)
        raise ServiceUnavailable("Stripe webhooks are not configured on this server.", headers={"Retry-After": "3600"})
    _refuse_future(header)
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=TOLERANCE_SECONDS)
            break
        except (stripe.SignatureVerificationError, UnicodeDecodeError):  # (a body that is not UTF-8 matches none)
            continue
    else:
        raise BadRequest("The Stripe-Signature does not match.")
    try:
        event = json.loads(payload)
        event["id"], event["type"], event["data"]["object"]  # noqa: B018 - shape check
    except (ValueError, TypeError, KeyError):
        raise BadRequest("The event is malformed.") from None
    return event


def _refuse_future(header: str | None) -> None:
    """Stripe's library refuses signatures older than the tolerance but not ones dated in the future (a replay
    kept for later, or a sender's clock far off): refuse those too."""
    stamps = [item[2:] for item in (header or "").split(",") if item.startswith("t=")]
    if stamps and stamps[0].isdigit() and int(stamps[0]) > time.time() + TOLERANCE_SECONDS:
        raise BadRequest("The Stripe-Signature is dated in the future beyond the tolerance.")


async def _purchase_id(ctx: "AppContext", kind: str, obj: dict[str, Any]) -> str | None:
    if kind.startswith("checkout.session."):
        return obj.get("id")
    intent = obj.get("payment_intent")
    if not isinstance(intent, str):
        return None
    async with ctx.sessionmaker() as session:
        found = (await session.execute(select(Purchase.id).where(Purchase.payment_intent == intent))).first()
    return found[0] if found else await stripe_api.session_of_payment_intent(ctx, intent)


async def apply(ctx: "AppContext", event: dict[str, Any]) -> dict[str, Any]:
    """Apply one verified event; a duplicate is acknowledged and changes nothing."""
    kind, obj = event["type"], event["data"]["object"]
    effect = EFFECTS.get(kind)
    purchase_id = await _purchase_id(ctx, kind, obj) if effect else None
    async with ctx.sessionmaker() as session:
        session.add(StripeEvent(id=str(event["id"]), type=str(kind)[:100], processed_at=utcnow()))
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            return {"received": True, "duplicate": True}
        result = "ignored"
        owner = await session.get(Purchase, purchase_id) if purchase_id else None
        if owner is not None:
            await ledger.lock_user(session, owner.user_id)
            purchase = await session.get(Purchase, purchase_id, populate_existing=True)
            result = await effect(session, purchase, obj)
            purchase.updated_at = utcnow()
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            return {"received": True, "duplicate": True}
    if result == "granted":
        await _send_receipt(ctx, purchase_id)
    return {"received": True, "result": result}


async def _grant(session, purchase: Purchase) -> str:
    if purchase.status not in OPEN:
        return "unchanged"
    await ledger.add(session, purchase.user_id, purchase.credits, "purchase", purchase.id)
    purchase.status = "paid"
    return "granted"


async def _completed(session, purchase: Purchase, obj: dict[str, Any]) -> str:
    purchase.payment_intent = obj.get("payment_intent") or purchase.payment_intent
    if obj.get("payment_status") in ("paid", "no_payment_required"):
        return await _grant(session, purchase)
    if purchase.status == "open":
        purchase.status = "pending"  # a delayed payment method: async_payment_succeeded/failed follows
    return "pending"


async def _async_succeeded(session, purchase: Purchase, obj: dict[str, Any]) -> str:
    purchase.payment_intent = obj.get("payment_intent") or purchase.payment_intent
    return await _grant(session, purchase)


async def _async_failed(session, purchase: Purchase, obj: dict[str, Any]) -> str:
    if purchase.status in OPEN:
        purchase.status = "failed"
        return "failed"
    return "unchanged"


def _reversal(status: str) -> Callable[..., Awaitable[str]]:
    async def reverse(session, purchase: Purchase, obj: dict[str, Any]) -> str:
        """Take back what the purchase granted (no more than is left: a balance never goes below zero)."""
        if purchase.status in ("refunded", "disputed"):
            return "unchanged"
        if status == "refunded" and obj.get("refunded") is False:
            log.warning("partial refund of purchase %s: credits left as they are", purchase.id)
            return "partial_refund"
        if purchase.status == "paid":
            available = await ledger.balance(session, purchase.user_id)
            await ledger.add(session, purchase.user_id, -min(purchase.credits, available), "purchase_reversal",
                             purchase.id)
        purchase.status = status
        return status
    return reverse


EFFECTS = {
    "checkout.session.completed": _completed,
    "checkout.session.async_payment_succeeded": _async_succeeded,
    "checkout.session.async_payment_failed": _async_failed,
    "charge.refunded": _reversal("refunded"),
    "charge.dispute.created": _reversal("disputed"),
}


async def _send_receipt(ctx: "AppContext", purchase_id: str) -> None:
    async with ctx.sessionmaker() as session:
        purchase = await session.get(Purchase, purchase_id)
        user = await session.get(User, purchase.user_id)
    amount = f"{purchase.amount_cents / 100:.2f} {purchase.currency.upper()}"
    mail.send_later(ctx, user.email, "Your Anclora receipt",
                    f"Thank you. {purchase.credits} credits were added to your account.\n\n"
                    f"Pack: {purchase.pack}\nAmount: {amount}\nReference: {purchase.id}\n")
