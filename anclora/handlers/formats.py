"""/api/formats (what converts to what, at what price) and /api/plugins (who is loaded)."""

from __future__ import annotations

import asyncio

from ..conversion import catalog
from .base import APIHandler


class FormatsHandler(APIHandler):
    async def get(self) -> None:
        """Every conversion on offer: direct pairs and chains, with the options schema and the price."""
        self.write_json({"conversions": catalog.formats(self.ctx, self.identity, self.ctx.planner)})


class PluginsHandler(APIHandler):
    async def get(self) -> None:
        """Loaded plugins: version, origin, hooks, converters with their availability; the sandbox mode."""
        data = await asyncio.get_running_loop().run_in_executor(
            None, catalog.plugins, self.ctx.pm, self.ctx.converters)
        self.write_json(data)


default_handlers = [
    (r"/api/formats", FormatsHandler),
    (r"/api/plugins", PluginsHandler),
]
