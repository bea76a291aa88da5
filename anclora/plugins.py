"""Building the plugin manager: hookspecs, blocked names, built-ins, entry points, then plugin folders."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pluggy

from . import hookspecs
from .config import Settings

log = logging.getLogger("anclora.plugins")

BUILTINS = ("anclora.accounts", "anclora.builtin.billing", "anclora.builtin.gotenberg", "anclora.builtin.rewards",
            "anclora.jobs", "anclora.builtin.webhooks")
ENTRYPOINT_GROUP = "anclora"


class PluginError(Exception):
    """A plugin could not be loaded and strict mode (or a built-in) makes that fatal."""


def bundled_plugins_dir() -> Path | None:
    """The top-level `plugins/` folder: beside the package in a checkout, under share/ in an install."""
    for candidate in (Path(__file__).resolve().parent.parent / "plugins", Path(sys.prefix) / "share/anclora/plugins"):
        if candidate.is_dir():
            return candidate
    return None


def make_plugin_manager(settings: Settings) -> pluggy.PluginManager:
    """A fresh plugin manager for one application (never a global)."""
    pm = pluggy.PluginManager("anclora")
    pm.add_hookspecs(hookspecs)
    pm.anclora_origins = {}  # plugin name -> "builtin" | "entrypoint" | "file"
    for name in settings.plugins_block:
        pm.set_blocked(name)

    for module_name in BUILTINS:
        name = module_name.rsplit(".", 1)[1]
        if not pm.is_blocked(name):
            _register(pm, importlib.import_module(module_name), name, "builtin")

    if settings.plugins_entrypoints:
        for entry in entry_points(group=ENTRYPOINT_GROUP):
            if not pm.is_blocked(entry.name):
                _guarded(settings, entry.name, lambda: _register(pm, entry.load(), entry.name, "entrypoint"))

    folders = [bundled_plugins_dir()] + [Path(folder) for folder in settings.plugins_dirs]
    for folder in filter(None, folders):
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_") or pm.is_blocked(path.stem):
                continue
            _guarded(settings, path.stem, lambda path=path: _register(pm, _load_file(path), path.stem, "file"))

    pm.check_pending()
    return pm


def _register(pm: pluggy.PluginManager, plugin, name: str, origin: str) -> None:
    pm.register(plugin, name=name)
    pm.anclora_origins[name] = origin


def _guarded(settings: Settings, name: str, load) -> None:
    try:
        load()
    except Exception as error:
        if settings.plugins_strict:
            raise PluginError(f"plugin {name!r} failed to load: {error}") from error
        log.error("plugin %r failed to load and is skipped: %s", name, error)


def _load_file(path: Path):
    module_name = f"anclora_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module
