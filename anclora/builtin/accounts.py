"""The built-in plugin `accounts`: plan limits at upload and conversion, job slots, retention, and what `GET
/api/me` shows. Signing in (tokens, API keys, sessions) is part of the server, not of this plugin: every route
needs to know who owns what, so blocking `accounts` lifts the limits and keeps authentication."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import hookimpl
from ..accounts import limits, tokens

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity


@hookimpl
def anclora_startup(ctx: "AppContext") -> None:
    tokens.signing_key(ctx.settings)  # a short JWT secret stops the start here


@hookimpl
def anclora_authorize_upload(ctx: "AppContext", identity: "Identity", declared_size: int | None,
                             starting: bool) -> int:
    return limits.authorize_upload(ctx, identity, starting)


@hookimpl
def anclora_file_retention(ctx: "AppContext", identity: "Identity") -> int:
    return limits.limits_for(ctx, identity)["retention_seconds"]


@hookimpl
def anclora_queue_weight(ctx: "AppContext", identity: "Identity") -> int:
    return limits.limits_for(ctx, identity)["queue_weight"]


@hookimpl(tryfirst=True)  # refuse on limits before any plugin charges
async def anclora_authorize_conversion(ctx: "AppContext", identity: "Identity", conversion: dict[str, Any]) -> None:
    await limits.authorize_conversion(ctx, identity, conversion)


@hookimpl
async def anclora_conversion_refused(ctx: "AppContext", identity: "Identity", conversion: dict[str, Any]) -> None:
    await limits.free_slot(ctx, conversion, identity)


@hookimpl
async def anclora_conversion_queued(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity") -> None:
    await limits.hold_slot(ctx, conversion, owner)


@hookimpl
async def anclora_conversion_finished(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity") -> None:
    await limits.free_slot(ctx, conversion, owner)


@hookimpl
async def anclora_conversion_failed(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity") -> None:
    await limits.free_slot(ctx, conversion, owner)


@hookimpl
async def anclora_conversion_canceled(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity") -> None:
    await limits.free_slot(ctx, conversion, owner)


@hookimpl
async def anclora_me(ctx: "AppContext", identity: "Identity") -> dict[str, Any]:
    return {"limits": limits.limits_for(ctx, identity), "usage": await limits.usage(ctx, identity)}
