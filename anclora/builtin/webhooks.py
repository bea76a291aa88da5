"""The built-in plugin `webhooks`: signed, retried deliveries of conversion events and a delivery log, over the
`anclora.webhooks` package.

Blocking the plugin (`plugins_block = ["webhooks"]`) refuses `webhook_url` and removes `/api/webhooks/*` and
`/api/me/webhook-secret`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import hookimpl
from ..handlers.webhooks import webhook_handlers
from ..webhooks import conversions, deliveries
from ..webhooks.dispatcher import Dispatcher

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity


@hookimpl
async def anclora_authorize_conversion(ctx: "AppContext", identity: "Identity", conversion: dict[str, Any]) -> None:
    await conversions.authorize(ctx, identity, conversion)


@hookimpl
async def anclora_conversion_finished(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity") -> None:
    await conversions.ended(ctx, conversion, owner)


@hookimpl
async def anclora_conversion_failed(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity") -> None:
    await conversions.ended(ctx, conversion, owner)


@hookimpl
async def anclora_conversion_canceled(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity") -> None:
    await conversions.ended(ctx, conversion, owner)


@hookimpl
async def anclora_startup(ctx: "AppContext") -> None:
    dispatcher = Dispatcher(ctx, sweeps=(conversions.recover, deliveries.prune))
    await dispatcher.start()
    ctx.state(deliveries.STATE)["dispatcher"] = dispatcher


@hookimpl(trylast=True)  # after the jobs have drained: their last events are queued by then
async def anclora_shutdown(ctx: "AppContext") -> None:
    dispatcher = ctx.state(deliveries.STATE).pop("dispatcher", None)
    if dispatcher is not None:
        await dispatcher.stop(min(ctx.settings.shutdown_grace, ctx.settings.webhook_timeout))


@hookimpl
def anclora_handlers(ctx: "AppContext") -> list[tuple]:
    return webhook_handlers
