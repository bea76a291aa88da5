"""The Stripe calls billing makes: create a Checkout Session, find the session of a payment intent.

The stripe SDK (about 9 MB of modules) is imported at the first call, not by every serving process.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..errors import ServiceUnavailable

if TYPE_CHECKING:
    from ..context import AppContext

log = logging.getLogger("anclora.billing")


def _http_client(stripe):
    class HTTPXClient(stripe.HTTPXClient):
        """Stripe's async httpx client, handing httpx the encoded form body as `content` (httpx deprecates raw
        bytes as `data`, which would warn on every call)."""

        def _get_request_args_kwargs(self, method, url, headers, post_data):
            args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
            body = kwargs.pop("data", None)
            if body:
                kwargs["content"] = body
            return args, kwargs
    return HTTPXClient(timeout=20)


def client(ctx: "AppContext"):
    import stripe

    state = ctx.state("billing")
    if "stripe" not in state:
        if not ctx.settings.stripe_secret_key:
            raise ServiceUnavailable("Payments are not configured on this server.")
        base = ctx.settings.stripe_api_base.rstrip("/")
        http = state["stripe_http"] = _http_client(stripe)
        state["stripe"] = stripe.StripeClient(
            ctx.settings.stripe_secret_key, base_addresses={"api": base} if base else None,
            http_client=http, max_network_retries=2)
    return state["stripe"]


async def close(ctx: "AppContext") -> None:
    state = ctx.state("billing")
    state.pop("stripe", None)
    http = state.pop("stripe_http", None)
    if http is not None:
        await http.close_async()


async def create_checkout_session(ctx: "AppContext", params: dict[str, Any], idempotency_key: str):
    import stripe

    try:
        return await client(ctx).v1.checkout.sessions.create_async(
            params, options={"idempotency_key": idempotency_key})
    except stripe.StripeError as error:
        log.error("Stripe refused a checkout session: %s", error)
        raise ServiceUnavailable("The payment provider is unavailable; try again shortly.",
                                 headers={"Retry-After": "30"}) from None


async def session_of_payment_intent(ctx: "AppContext", payment_intent: str) -> str | None:
    """The Checkout Session that created `payment_intent` (for charge events that arrive before the session's)."""
    import stripe

    try:
        found = await client(ctx).v1.checkout.sessions.list_async({"payment_intent": payment_intent, "limit": 1})
    except stripe.StripeError as error:
        log.error("Stripe lookup of %s failed: %s", payment_intent, error)
        raise ServiceUnavailable("The payment provider is unavailable.", headers={"Retry-After": "30"}) from None
    return found.data[0].id if found.data else None
