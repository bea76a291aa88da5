"""Billing: prices, free allowances, the credits ledger and Stripe Checkout (built-in plugin `billing`).

Blocking the plugin (`plugins_block = ["billing"]`) makes every conversion free and removes `/api/billing/*`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from anclora import hookimpl

from ..accounts.deferred import deferred
from ..billing import charges, ledger, prices, stripe_api

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity


@hookimpl
def anclora_price_conversion(ctx: "AppContext", identity: "Identity", converter, input_size: int,
                             options: dict[str, Any], cached: bool) -> int:
    full = prices.price(getattr(converter, "cost", 0), input_size)
    return prices.cached_price(full, ctx.settings.cache_charge_fraction) if cached else full


@hookimpl(trylast=True)  # charge only once every other plugin has allowed the conversion
def anclora_authorize_conversion(ctx: "AppContext", identity: "Identity", conversion: dict[str, Any]):
    return deferred(charges.authorize, ctx, identity, conversion)


@hookimpl
def anclora_conversion_failed(ctx: "AppContext", conversion: dict[str, Any]):
    return deferred(charges.refund, ctx, conversion)


@hookimpl
def anclora_conversion_canceled(ctx: "AppContext", conversion: dict[str, Any]):
    return deferred(charges.refund, ctx, conversion)


async def _me(ctx: "AppContext", identity: "Identity") -> dict[str, Any]:
    if identity.is_anonymous:
        return {"credits": 0}
    return {"credits": await ledger.current_balance(ctx, identity.user_id)}


@hookimpl
def anclora_me(ctx: "AppContext", identity: "Identity"):
    return deferred(_me, ctx, identity)


@hookimpl
def anclora_handlers(ctx: "AppContext") -> list[tuple]:
    from ..handlers.billing import billing_handlers

    return billing_handlers


@hookimpl
def anclora_shutdown(ctx: "AppContext"):
    return deferred(stripe_api.close, ctx)
