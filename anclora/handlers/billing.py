"""/api/billing: credit packs, checkout, the caller's transactions and Stripe's webhook.

Served through the billing plugin's `anclora_handlers` hook (no `default_handlers`), so blocking the plugin
removes these routes.
"""

from __future__ import annotations

import tornado.web

from ..billing import charges, checkout, packs, webhooks
from ..errors import PayloadTooLarge
from ..openapi import IDEMPOTENCY_KEY, MOMENT, PAGE, STRING, Body, obj, operation
from .base import APIHandler
from .me import UserHandler

INTEGER = {"type": "integer"}
PACK = obj({"id": STRING, "name": STRING, "credits": INTEGER, "amount_cents": INTEGER, "currency": STRING},
           required=("id", "name", "credits", "amount_cents", "currency"), closed=False)
TRANSACTION = obj({"id": STRING, "conversion_id": {"type": ["string", "null"]}, "credits": INTEGER,
                   "free": {"type": "boolean"}, "payment_status": STRING, "description": {"type": ["string", "null"]},
                   "created_at": MOMENT}, required=("id", "credits", "payment_status", "created_at"), closed=False)


class PacksHandler(APIHandler):
    @operation({200: obj({"packs": {"type": "array", "items": PACK}}, required=("packs",), closed=False)})
    async def get(self) -> None:
        """The credit packs on sale."""
        self.write_json({"packs": [pack.as_json() for pack in packs.packs(self.ctx)]})


class CheckoutHandler(UserHandler):
    @operation({201: obj({"checkout_url": STRING, "session_id": STRING, "pack": PACK},
                         required=("checkout_url", "session_id", "pack"), closed=False),
                422: "No such credit pack (details list them)."},
               body=obj({"pack": STRING}, required=("pack",)), headers={"Idempotency-Key": IDEMPOTENCY_KEY})
    async def post(self) -> None:
        """Open a Stripe Checkout Session for a credit pack; credits arrive with Stripe's webhook."""
        result = await checkout.start(self.ctx, self.user_id(), self.json_body().get("pack"),
                                      self.request.headers.get("Idempotency-Key"))
        self.write_json(result, 201)


class TransactionsHandler(UserHandler):
    @operation({200: obj({"transactions": {"type": "array", "items": TRANSACTION}}, required=("transactions",),
                         closed=False)}, query=obj(PAGE))
    async def get(self) -> None:
        """The caller's conversion transactions with their payment_status, newest first."""
        page = self.query()
        self.write_json({"transactions": await charges.transactions(self.ctx, self.user_id(), page["limit"],
                                                                    page["offset"])})


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

    @operation({200: obj({"received": {"const": True}}, required=("received",), closed=False),
                413: "The body is larger than 64 KiB."},
               uploads=(Body("application/json", {"type": "object"}, "A Stripe event, byte for byte as signed."),),
               headers={"Stripe-Signature": {**STRING, "required": True}})
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
