"""The built-in plugin `web`: the page for people at `/`, over the `anclora.web` package.

Blocking the plugin (`plugins_block = ["web"]`) leaves an API-only server (`/` answers 404).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import hookimpl
from ..handlers.web import web_handlers

if TYPE_CHECKING:
    from ..context import AppContext


@hookimpl
def anclora_handlers(ctx: "AppContext") -> list[tuple]:
    return web_handlers
