"""/api/webhooks/deliveries (the caller's delivery log, redelivery) and /api/me/webhook-secret."""

from __future__ import annotations

from ..db.models import WebhookDelivery
from ..db.owned import get_owned
from ..openapi import MOMENT, PAGE, STRING, obj, operation
from ..webhooks import deliveries, signing
from .base import APIHandler
from .me import UserHandler

SECRET = obj({"webhook_secret": STRING}, required=("webhook_secret",), closed=False)
NULLABLE_TEXT = {"type": ["string", "null"]}
NULLABLE_INTEGER = {"type": ["integer", "null"]}
DELIVERY = obj({
    "id": STRING, "conversion_id": NULLABLE_TEXT, "event": STRING, "url": STRING,
    "status": {"type": "string", "enum": ["pending", "delivered", "failed"]}, "attempts": {"type": "integer"},
    "last_status_code": NULLABLE_INTEGER, "last_error": NULLABLE_TEXT, "next_attempt_at": MOMENT,
    "created_at": MOMENT, "delivered_at": MOMENT,
}, required=("id", "event", "url", "status", "attempts"), closed=False)
ATTEMPT = obj({"number": {"type": "integer"}, "started_at": MOMENT, "duration_ms": NULLABLE_INTEGER,
               "status_code": NULLABLE_INTEGER, "error": NULLABLE_TEXT}, required=("number",), closed=False)


class WebhookSecretHandler(UserHandler):
    @operation({200: SECRET})
    async def get(self) -> None:
        """The secret that signs the caller's webhooks (created on first use)."""
        keys = await signing.signing_keys(self.ctx, self.user_id())
        self.write_json({"webhook_secret": keys[0]})

    @operation({200: SECRET})
    async def post(self) -> None:
        """Create or rotate the webhook secret; the previous one keeps signing beside it for 24 hours."""
        self.write_json({"webhook_secret": await signing.rotate(self.ctx, self.user_id())})


class DeliveriesHandler(APIHandler):
    @operation({200: obj({"deliveries": {"type": "array", "items": DELIVERY}}, required=("deliveries",),
                         closed=False)}, query=obj(PAGE))
    async def get(self) -> None:
        """The caller's webhook deliveries, newest first."""
        page = self.query()
        rows = await deliveries.list_owned(self.ctx, self.identity, page["limit"], page["offset"])
        self.write_json({"deliveries": [deliveries.as_json(row) for row in rows]})


class DeliveryHandler(APIHandler):
    @operation({200: {**DELIVERY, "properties": {**DELIVERY["properties"],
                                                 "attempt_log": {"type": "array", "items": ATTEMPT}}}})
    async def get(self, delivery_id: str) -> None:
        """One delivery with the log of its attempts (`attempt_log`: number, time, status code or error)."""
        row = await get_owned(self.ctx, WebhookDelivery, self.identity, delivery_id)
        attempts = await deliveries.attempts_of(self.ctx, row.id)
        self.write_json({**deliveries.as_json(row), "attempt_log": [deliveries.attempt_json(a) for a in attempts]})


class RedeliverHandler(APIHandler):
    @operation({202: DELIVERY, 409: "The delivery is being sent right now."})
    async def post(self, delivery_id: str) -> None:
        """Send a delivery again now, with a fresh allowance of attempts; 409 while it is being sent."""
        self.write_json(deliveries.as_json(await deliveries.redeliver(self.ctx, self.identity, delivery_id)), 202)


webhook_handlers = [
    (r"/api/me/webhook-secret", WebhookSecretHandler),
    (r"/api/webhooks/deliveries", DeliveriesHandler),
    (r"/api/webhooks/deliveries/([0-9a-f-]{36})", DeliveryHandler),
    (r"/api/webhooks/deliveries/([0-9a-f-]{36})/redeliver", RedeliverHandler),
]
