"""Collecting converters from plugins, keyed by name, remembering which plugin registered each."""

from __future__ import annotations

import logging

import pluggy

from .converter import Converter

log = logging.getLogger("anclora.plugins")


class DuplicateConverter(Exception):
    pass


def collect_converters(pm: pluggy.PluginManager) -> dict[str, Converter]:
    """Every registered converter by name; `converter.plugin` names the plugin that registered it."""
    converters: dict[str, Converter] = {}
    for impl in pm.hook.anclora_register_converters.get_hookimpls():
        for converter in impl.function() or ():
            if converter.name in converters:
                raise DuplicateConverter(
                    f"converter {converter.name!r} registered by {impl.plugin_name!r} and "
                    f"{converters[converter.name].plugin!r}")
            converter.plugin = impl.plugin_name
            converters[converter.name] = converter
    return converters


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
