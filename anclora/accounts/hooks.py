"""The accounts side of the plugin hooks: startup checks, plan limits, and what `GET /api/me` shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import hookimpl
from . import limits, mail, tokens
from .counters import counters
from .deferred import deferred

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity


@hookimpl
def anclora_startup(ctx: "AppContext") -> None:
    tokens.signing_key(ctx.settings)  # a short JWT secret stops the start here
    counters(ctx)


@hookimpl
def anclora_shutdown(ctx: "AppContext"):
    return deferred(mail.drain, ctx)


@hookimpl
def anclora_authorize_upload(ctx: "AppContext", identity: "Identity", declared_size: int | None) -> int:
    return limits.authorize_upload(ctx, identity)


@hookimpl
def anclora_file_retention(ctx: "AppContext", identity: "Identity") -> int:
    return limits.limits_for(ctx, identity)["retention_seconds"]


@hookimpl
def anclora_queue_weight(ctx: "AppContext", identity: "Identity") -> float:
    return limits.limits_for(ctx, identity)["queue_weight"]


@hookimpl(tryfirst=True)  # refuse on limits before any plugin charges
def anclora_authorize_conversion(ctx: "AppContext", identity: "Identity", conversion: dict[str, Any]):
    return deferred(limits.authorize_conversion, ctx, identity, conversion)


@hookimpl
def anclora_conversion_queued(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity"):
    return deferred(limits.hold_slot, ctx, conversion, owner)


@hookimpl
def anclora_conversion_finished(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity"):
    return deferred(limits.free_slot, ctx, conversion, owner)


@hookimpl
def anclora_conversion_failed(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity"):
    return deferred(limits.free_slot, ctx, conversion, owner)


@hookimpl
def anclora_conversion_canceled(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity"):
    return deferred(limits.free_slot, ctx, conversion, owner)


async def _me(ctx: "AppContext", identity: "Identity") -> dict[str, Any]:
    return {"limits": limits.limits_for(ctx, identity), "usage": await limits.usage(ctx, identity)}


@hookimpl
def anclora_me(ctx: "AppContext", identity: "Identity"):
    return deferred(_me, ctx, identity)
