"""/api/webhooks/deliveries (the caller's delivery log, redelivery) and /api/me/webhook-secret."""

from __future__ import annotations

from ..errors import BadRequest
from ..webhooks import deliveries, signing
from .base import APIHandler
from .me import UserHandler


class WebhookSecretHandler(UserHandler):
    async def get(self) -> None:
        """The secret that signs the caller's webhooks (created on first use)."""
        keys = await signing.signing_keys(self.ctx, self.user_id())
        self.write_json({"webhook_secret": keys[0]})

    async def post(self) -> None:
        """Create or rotate the webhook secret; the previous one keeps signing beside it for 24 hours."""
        self.write_json({"webhook_secret": await signing.rotate(self.ctx, self.user_id())})


class DeliveriesHandler(APIHandler):
    async def get(self) -> None:
        """The caller's webhook deliveries, newest first."""
        try:
            limit = min(max(int(self.get_query_argument("limit", "100")), 1), 1000)
            offset = max(int(self.get_query_argument("offset", "0")), 0)
        except ValueError:
            raise BadRequest("`limit` and `offset` must be integers.") from None
        rows = await deliveries.list_owned(self.ctx, self.identity, limit, offset)
        self.write_json({"deliveries": [deliveries.as_json(row) for row in rows]})


class DeliveryHandler(APIHandler):
    async def get(self, delivery_id: str) -> None:
        """One delivery with the log of its attempts (`attempt_log`: number, time, status code or error)."""
        row = await deliveries.get_owned(self.ctx, self.identity, delivery_id)
        attempts = await deliveries.attempts_of(self.ctx, row.id)
        self.write_json({**deliveries.as_json(row), "attempt_log": [deliveries.attempt_json(a) for a in attempts]})


class RedeliverHandler(APIHandler):
    async def post(self, delivery_id: str) -> None:
        """Send a delivery again now, with a fresh allowance of attempts; 409 while it is being sent."""
        self.write_json(deliveries.as_json(await deliveries.redeliver(self.ctx, self.identity, delivery_id)), 202)


webhook_handlers = [
    (r"/api/me/webhook-secret", WebhookSecretHandler),
    (r"/api/webhooks/deliveries", DeliveriesHandler),
    (r"/api/webhooks/deliveries/([0-9a-f-]{36})", DeliveryHandler),
    (r"/api/webhooks/deliveries/([0-9a-f-]{36})/redeliver", RedeliverHandler),
]
