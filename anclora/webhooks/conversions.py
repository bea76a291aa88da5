"""Webhooks of conversions: who may ask for one, the signed event queued when a conversion ends, and the events
a stopped process did not get to queue."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import exists, select

from ..db.base import utcnow
from ..db.models import Conversion, WebhookDelivery
from ..errors import Forbidden
from ..identity import Identity
from ..jobs import store
from .deliveries import enqueue
from .targets import check_target

RECOVERY_WINDOW = dt.timedelta(days=1)  # how far back a conversion's missing event is still worth sending
RECOVERY_BATCH = 100


async def authorize(ctx, identity: Identity, conversion: dict[str, Any]) -> None:
    """Refuse a `webhook_url` from an anonymous caller (403) or to a target webhooks may not reach (422)."""
    url = conversion.get("webhook_url")
    if not url:
        return
    if identity.is_anonymous:
        raise Forbidden("Anonymous callers cannot set `webhook_url`: webhooks are signed with an account's "
                        "webhook secret, so sign in or use an API key.")
    await check_target(ctx, url)


async def ended(ctx, conversion: dict[str, Any], owner: Identity) -> None:
    """Queue `{"event": "conversion.<status>", "conversion": {...}}` to the conversion's webhook, if it has one."""
    url = conversion.get("webhook_url")
    if not url or owner.is_anonymous:
        return
    event = f"conversion.{conversion['status']}"
    body = json.dumps({"event": event, "conversion": conversion}, separators=(",", ":")).encode()
    await enqueue(ctx, owner_user_id=owner.user_id, owner_session_id=None, url=url, event=event, body=body,
                  conversion_id=conversion["id"])


async def recover(ctx) -> int:
    """Queue the events of conversions that ended lately with a webhook but without a delivery: their process
    stopped between ending them and queuing the event. How many were queued (each at most once, whoever else
    queues it meanwhile)."""
    queued = exists().where(WebhookDelivery.conversion_id == Conversion.id)
    async with ctx.sessionmaker() as session:
        rows = list(await session.scalars(
            select(Conversion).where(Conversion.status.in_(store.FINAL), Conversion.webhook_url.is_not(None),
                                     Conversion.user_id.is_not(None),
                                     Conversion.finished_at >= utcnow() - RECOVERY_WINDOW, ~queued)
            .limit(RECOVERY_BATCH)))
    for row in rows:
        await ended(ctx, store.as_json(row), store.identity_of(row))
    return len(rows)
