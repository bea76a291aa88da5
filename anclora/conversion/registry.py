"""Collecting converters from plugins, keyed by name, remembering which plugin registered each."""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path
from typing import Any

import pluggy

from ..version import __version__
from ..plugins import ENTRYPOINT_GROUP, bundled_plugins_dir

from .converter import Converter

log = logging.getLogger("anclora.plugins")


class DuplicateConverter(Exception):
    pass


def collect_converters(pm: pluggy.PluginManager) -> dict[str, Converter]:
    """Every registered converter by name; `converter.plugin` names the plugin that registered it and
    `converter.plugin_version` is that plugin's version."""
    converters: dict[str, Converter] = {}
    for impl in pm.hook.anclora_register_converters.get_hookimpls():
        for converter in impl.function() or ():
            if converter.name in converters:
                raise DuplicateConverter(
                    f"converter {converter.name!r} registered by {impl.plugin_name!r} and "
                    f"{converters[converter.name].plugin!r}")
            converter.plugin = impl.plugin_name
            converter.plugin_version = plugin_version(pm, impl.plugin, impl.plugin_name) or ""
            converters[converter.name] = converter
    return converters


def plugin_version(pm: pluggy.PluginManager, plugin: Any, name: str) -> str | None:
    """A built-in's or a bundled plugin's is Anclora's; a package's is its distribution's; another file's is its
    `__version__`, if any."""
    origin = getattr(pm, "anclora_origins", {}).get(name, "builtin")
    if origin == "builtin" or _bundled(plugin):
        return __version__
    if origin == "entrypoint":
        for entry in importlib.metadata.entry_points(group=ENTRYPOINT_GROUP, name=name):
            if entry.dist is not None:
                return entry.dist.version
    return getattr(plugin, "__version__", None)


def _bundled(plugin: Any) -> bool:
    folder, path = bundled_plugins_dir(), getattr(plugin, "__file__", None)
    return folder is not None and path is not None and Path(path).resolve().parent == folder.resolve()


def engine_status(converters: dict[str, Converter]) -> dict[str, dict]:
    """Engines by name: up when available, else unavailable with the reason and how to install."""
    engines: dict[str, dict] = {}
    for converter in converters.values():
        if not converter.engine:
            continue
        availability = converter.availability()
        entry = engines.setdefault(converter.engine, {"status": "up", "converters": []})
        entry["converters"].append(converter.name)
        if not availability.available:
            entry.update(status="unavailable", reason=availability.reason, install=availability.install)
    return engines
