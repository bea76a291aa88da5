"""Gotenberg's HTTP API (built-in plugin `gotenberg`): `/forms/libreoffice/convert`, `/forms/pdfengines/*`,
`/forms/chromium/*`, `/health` and `/version`, so Gotenberg's clients can use this server unchanged. Every step
is an ordinary job, with the caller's limits and prices. Blocking the plugin (`plugins_block = ["gotenberg"]`)
removes the routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import hookimpl
from ..gotenberg import webhook
from ..handlers.gotenberg import gotenberg_handlers

if TYPE_CHECKING:
    from ..context import AppContext


@hookimpl
def anclora_handlers(ctx: "AppContext") -> list[tuple]:
    return gotenberg_handlers


@hookimpl(tryfirst=True)  # before the jobs drain: the webhook requests still running wait for their jobs
async def anclora_shutdown(ctx: "AppContext") -> None:
    await webhook.drain(ctx, ctx.settings.shutdown_grace)
