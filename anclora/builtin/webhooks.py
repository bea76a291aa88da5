"""Webhooks (built-in plugin `webhooks`): signed, retried deliveries of conversion events and a delivery log.

Blocking the plugin (`plugins_block = ["webhooks"]`) refuses `webhook_url` and removes `/api/webhooks/*` and
`/api/me/webhook-secret`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from anclora import hookimpl

from ..accounts.deferred import deferred
from ..webhooks import conversions, deliveries
from ..webhooks.dispatcher import Dispatcher

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity


@hookimpl
def anclora_authorize_conversion(ctx: "AppContext", identity: "Identity", conversion: dict[str, Any]):
    return deferred(conversions.authorize, ctx, identity, conversion)


@hookimpl
def anclora_conversion_finished(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity"):
    return deferred(conversions.ended, ctx, "finished", conversion, owner)


@hookimpl
def anclora_conversion_failed(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity"):
    return deferred(conversions.ended, ctx, "failed", conversion, owner)


@hookimpl
def anclora_conversion_canceled(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity"):
    return deferred(conversions.ended, ctx, "canceled", conversion, owner)


async def _start(ctx: "AppContext") -> None:
    dispatcher = Dispatcher(ctx)
    await dispatcher.start()
    ctx.services[deliveries.STATE] = dispatcher


async def _stop(ctx: "AppContext") -> None:
    dispatcher = ctx.services.pop(deliveries.STATE, None)
    if dispatcher is not None:
        await dispatcher.stop(min(ctx.settings.shutdown_grace, ctx.settings.webhook_timeout))


@hookimpl
def anclora_startup(ctx: "AppContext"):
    return deferred(_start, ctx)


@hookimpl(trylast=True)  # after the jobs have drained: their last events are queued by then
def anclora_shutdown(ctx: "AppContext"):
    return deferred(_stop, ctx)


@hookimpl
def anclora_handlers(ctx: "AppContext") -> list[tuple]:
    from ..handlers.webhooks import webhook_handlers

    return webhook_handlers
