"""The one upload limit, for plain uploads, tus creations and tus's `Tus-Max-Size`: the server's
MAX_CONTENT_LENGTH, lowered by every plugin's answer to `anclora_authorize_upload`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import plugins

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity


async def upload_limit(ctx: "AppContext", identity: "Identity", declared: int | None, *,
                       starting: bool = True) -> int:
    """The most bytes `identity` may upload. `starting=False` only asks (tus OPTIONS): no upload is counted."""
    answers = await plugins.ask(ctx.pm, "anclora_authorize_upload", ctx=ctx, identity=identity,
                                declared_size=declared, starting=starting)
    return min([ctx.settings.max_content_length, *answers])
