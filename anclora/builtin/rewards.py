"""The built-in plugin `rewards`: points, levels and rewards earned by converting, over `anclora.rewards`.
Blocking it stops the earning and removes `/api/rewards`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import hookimpl
from ..handlers.rewards import rewards_handlers
from ..rewards import service

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity


@hookimpl
async def anclora_conversion_finished(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity") -> None:
    await service.conversion_succeeded(ctx, conversion, owner)


@hookimpl
def anclora_handlers(ctx: "AppContext") -> list[tuple]:
    return rewards_handlers
