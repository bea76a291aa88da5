"""What can be converted and by whom: the formats table and the loaded plugins, for the API and the CLI."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import pluggy

from ..version import __version__
from ..plugins import ENTRYPOINT_GROUP
from .converter import Converter
from .planner import Planner, describe
from ..engines.sandbox import network_isolation


def formats(ctx, identity, planner: Planner) -> list[dict[str, Any]]:
    """Every conversion on offer, as `GET /api/formats` lists it."""
    return [describe(ctx, identity, route) for route in planner.routes()]


def _version(plugin: Any, name: str, origin: str) -> str | None:
    """A built-in's is Anclora's; a package's is its distribution's; a file's is its `__version__`, if any."""
    if origin == "builtin":
        return __version__
    if origin == "entrypoint":
        for entry in importlib.metadata.entry_points(group=ENTRYPOINT_GROUP, name=name):
            if entry.dist is not None:
                return entry.dist.version
    return getattr(plugin, "__version__", None)


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
            "version": _version(plugin, name, origin),
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
