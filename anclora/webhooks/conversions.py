"""Webhooks of conversions: who may ask for one, and the signed event queued when a conversion ends."""

from __future__ import annotations

import json
from typing import Any

from ..errors import Forbidden
from ..identity import Identity
from .deliveries import enqueue
from .targets import check_target

EVENTS = {"finished": "conversion.succeeded", "failed": "conversion.failed", "canceled": "conversion.canceled"}


async def authorize(ctx, identity: Identity, conversion: dict[str, Any]) -> None:
    """Refuse a `webhook_url` from an anonymous caller (403) or to a target webhooks may not reach (422)."""
    url = conversion.get("webhook_url")
    if not url:
        return
    if identity.is_anonymous:
        raise Forbidden("Anonymous callers cannot set `webhook_url`: webhooks are signed with an account's "
                        "webhook secret, so sign in or use an API key.")
    await check_target(ctx, url)


async def ended(ctx, hook: str, conversion: dict[str, Any], owner: Identity) -> None:
    """Queue `{"event": "conversion.<outcome>", "conversion": {...}}` to the conversion's webhook, if it has one."""
    url = conversion.get("webhook_url")
    if not url or owner.is_anonymous:
        return
    body = json.dumps({"event": EVENTS[hook], "conversion": conversion}, separators=(",", ":")).encode()
    await enqueue(ctx, owner_user_id=owner.user_id, owner_session_id=None, url=url, event=EVENTS[hook], body=body,
                  conversion_id=conversion["id"])
