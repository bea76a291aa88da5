"""What can be converted and by whom: the formats table and the loaded plugins, for the API and the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pluggy

from ..engines.sandbox import network_isolation
from .converter import Converter
from .planner import Planner, describe
from .registry import plugin_version


def formats(ctx, identity, planner: Planner) -> list[dict[str, Any]]:
    """Every conversion on offer, as `GET /api/formats` lists it."""
    return [describe(ctx, identity, route) for route in planner.routes()]


def plugins(pm: pluggy.PluginManager, converters: dict[str, Converter]) -> dict[str, Any]:
    """The loaded plugins with their hooks and converters, and how engines are isolated from the network."""
    origins = getattr(pm, "anclora_origins", {})
    listed = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        if plugin is None:  # blocked
            continue
        origin = origins.get(name, "builtin")
        listed.append({
            "name": name,
            "version": plugin_version(pm, plugin, name),
            "origin": origin,
            "hooks": sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()),
            "converters": [
                {"name": c.name, "sources": list(c.sources), "targets": list(c.targets), "engine": c.engine,
                 "cost": c.cost, **c.availability().as_dict()}
                for c in converters.values() if getattr(c, "plugin", None) == name],
        })
    isolation = network_isolation()
    return {"plugins": listed,
            "sandbox": {"network_isolation": " ".join([Path(isolation[0]).name, *isolation[1:-1]])
                        if isolation else "none"}}
