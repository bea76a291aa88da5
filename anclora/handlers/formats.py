"""/api/formats (what converts to what, at what price) and /api/plugins (who is loaded)."""

from __future__ import annotations

import asyncio

from ..conversion import catalog
from ..openapi import STRING, obj, operation
from .base import APIHandler

_NAMES = {"type": "array", "items": STRING}
ROUTE = obj({"from": STRING, "to": STRING, "converter": STRING, "via": _NAMES, "options": {"type": "object"},
             "cost": {"type": "integer"}}, required=("from", "to", "converter", "options", "cost"), closed=False)
CONVERTER = obj({"name": STRING, "sources": _NAMES, "targets": _NAMES, "engine": {"type": ["string", "null"]},
                 "available": {"type": "boolean"}}, required=("name", "sources", "targets"), closed=False)
PLUGIN = obj({"name": STRING, "version": {"type": ["string", "null"]}, "origin": STRING, "hooks": _NAMES,
              "converters": {"type": "array", "items": CONVERTER}}, required=("name", "origin", "hooks"), closed=False)


class FormatsHandler(APIHandler):
    @operation({200: obj({"conversions": {"type": "array", "items": ROUTE}}, required=("conversions",), closed=False)})
    async def get(self) -> None:
        """Every conversion on offer: direct pairs and chains, with the options schema and the price."""
        self.write_json({"conversions": catalog.formats(self.ctx, self.identity, self.ctx.planner)})


class PluginsHandler(APIHandler):
    @operation({200: obj({"plugins": {"type": "array", "items": PLUGIN},
                          "sandbox": obj({"network_isolation": STRING}, closed=False)},
                         required=("plugins", "sandbox"), closed=False)})
    async def get(self) -> None:
        """Loaded plugins: version, origin, hooks, converters with their availability; the sandbox mode."""
        data = await asyncio.get_running_loop().run_in_executor(
            None, catalog.plugins, self.ctx.pm, self.ctx.converters)
        self.write_json(data)


default_handlers = [
    (r"/api/formats", FormatsHandler),
    (r"/api/plugins", PluginsHandler),
]
