"""/api/billing: credit packs, checkout, the caller's transactions and Stripe's webhook.

Served through the billing plugin's `anclora_handlers` hook (no `default_handlers`), so blocking the plugin
removes these routes.
"""

from __future__ import annotations

import tornado.web

from ..billing import charges, checkout, packs, webhooks
from ..errors import PayloadTooLarge
from .base import APIHandler
from .me import UserHandler


class PacksHandler(APIHandler):
    async def get(self) -> None:
        """The credit packs on sale."""
        self.write_json({"packs": [pack.as_json() for pack in packs.packs(self.ctx)]})


class CheckoutHandler(UserHandler):
    async def post(self) -> None:
        """Open a Stripe Checkout Session for a credit pack; credits arrive with Stripe's webhook."""
        result = await checkout.start(self.ctx, self.user_id(), self.json_body().get("pack"),
                                      self.request.headers.get("Idempotency-Key"))
        self.write_json(result, 201)


class TransactionsHandler(UserHandler):
    async def get(self) -> None:
        """The caller's conversion transactions with their payment_status, newest first."""
        limit = min(int(self.get_query_argument("limit", "100")), 1000)
        offset = int(self.get_query_argument("offset", "0"))
        self.write_json({"transactions": await charges.transactions(self.ctx, self.user_id(), limit, offset)})


@tornado.web.stream_request_body
class WebhookHandler(APIHandler):
    """Stripe events; the raw body is what the signature covers, so it is kept byte for byte (and small)."""

    async def prepare(self) -> None:
        await super().prepare()
        self._chunks: list[bytes] = []
        self._size = 0
        declared = self.request.headers.get("Content-Length")
        if declared is not None and (not declared.isdigit() or int(declared) > webhooks.MAX_BODY):
            raise PayloadTooLarge("Webhook bodies are limited to 64 KiB.")
        self.request.connection.set_max_body_size(webhooks.MAX_BODY)

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= webhooks.MAX_BODY:
            self._chunks.append(chunk)

    async def post(self) -> None:
        """Receive one Stripe event (verified with Stripe-Signature, applied exactly once)."""
        payload = b"".join(self._chunks)
        event = webhooks.verify(self.ctx, payload, self.request.headers.get("Stripe-Signature"))
        self.write_json(await webhooks.apply(self.ctx, event))


billing_handlers = [
    (r"/api/billing/packs", PacksHandler),
    (r"/api/billing/checkout", CheckoutHandler),
    (r"/api/billing/transactions", TransactionsHandler),
    (r"/api/billing/webhook", WebhookHandler),
]
