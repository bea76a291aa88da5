"""The built-in plugin `billing`: prices, free allowances, the credits ledger and Stripe Checkout, over the
`anclora.billing` package.

Blocking the plugin (`plugins_block = ["billing"]`) makes every conversion free and removes `/api/billing/*`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import hookimpl
from ..billing import charges, ledger, prices, stripe_api
from ..handlers.billing import billing_handlers

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity


@hookimpl
def anclora_price_conversion(ctx: "AppContext", identity: "Identity", converter, input_size: int,
                             options: dict[str, Any], cached: bool) -> int:
    full = prices.price(getattr(converter, "cost", 0), input_size)
    return prices.cached_price(full, ctx.settings.cache_charge_fraction) if cached else full


@hookimpl(trylast=True)  # charge only once every other plugin has allowed the conversion
async def anclora_authorize_conversion(ctx: "AppContext", identity: "Identity", conversion: dict[str, Any]) -> None:
    await charges.authorize(ctx, identity, conversion)


@hookimpl
async def anclora_conversion_failed(ctx: "AppContext", conversion: dict[str, Any]) -> None:
    await charges.refund(ctx, conversion)


@hookimpl
async def anclora_conversion_canceled(ctx: "AppContext", conversion: dict[str, Any]) -> None:
    await charges.refund(ctx, conversion)


@hookimpl
async def anclora_me(ctx: "AppContext", identity: "Identity") -> dict[str, Any]:
    if identity.is_anonymous:
        return {"credits": 0}
    return {"credits": await ledger.current_balance(ctx, identity.user_id)}


@hookimpl
def anclora_handlers(ctx: "AppContext") -> list[tuple]:
    return billing_handlers


@hookimpl
async def anclora_shutdown(ctx: "AppContext") -> None:
    await stripe_api.close(ctx)
