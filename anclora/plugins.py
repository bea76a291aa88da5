"""The plugin manager (hookspecs, blocked names, built-ins, entry points, then plugin folders) and the one way to
call its hooks: `notify` and `authorize` for the asynchronous hooks, `collect` and `first` for the synchronous ones."""

from __future__ import annotations

import importlib
import inspect
import importlib.util
import logging
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy

from . import hookspecs
from .config import Setting, Settings
from .config import load as load_settings

log = logging.getLogger("anclora.plugins")

BUILTINS = ("anclora.builtin.accounts", "anclora.builtin.billing", "anclora.builtin.gotenberg",
            "anclora.builtin.rewards", "anclora.builtin.jobs", "anclora.builtin.webhooks",
            "anclora.builtin.web")
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
                _guarded(settings, entry.name,
                         lambda entry=entry: _register(pm, entry.load(), entry.name, "entrypoint"))

    folders = [bundled_plugins_dir()] + [Path(folder) for folder in settings.plugins_dirs]
    for folder in filter(None, folders):
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_") or pm.is_blocked(path.stem):
                continue
            _guarded(settings, path.stem, lambda path=path: _register(pm, _load_file(path), path.stem, "file"))

    pm.check_pending()
    return pm


def declared_settings(pm: pluggy.PluginManager) -> dict[str, tuple[Setting, ...]]:
    """Each loaded plugin's own settings (`anclora_settings`), by plugin name."""
    return {implementation.plugin_name: tuple(implementation.function() or ())
            for implementation in _implementations(pm, "anclora_settings")}


def bundled_settings() -> dict[str, tuple[Setting, ...]]:
    """The settings of the built-in and bundled plugins, for the sample configuration files."""
    defaults = load_settings(environ={}, dotenv=None, overrides={"plugins_entrypoints": False})
    return declared_settings(make_plugin_manager(defaults))


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


def _implementations(pm: pluggy.PluginManager, name: str) -> list:
    """A hook's implementations in the order pluggy calls them (tryfirst ones first, trylast ones last)."""
    return list(reversed(getattr(pm.hook, name).get_hookimpls()))


def _call(implementation, kwargs: dict[str, Any]) -> Any:
    return implementation.function(*[kwargs[argument] for argument in implementation.argnames])


async def notify(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> list[Any]:
    """Call every implementation of an event hook, awaiting what it returns; the results that are not None.

    Each implementation runs on its own: one that raises is logged with its plugin's name and the others still
    run, so a third-party listener can never keep a built-in one from freeing a slot or closing a pool."""
    results = []
    for implementation in _implementations(pm, name):
        try:
            result = _call(implementation, kwargs)
            if inspect.isawaitable(result):
                result = await result
        except Exception:
            log.exception("plugin %r failed in %s (the other plugins still run)", implementation.plugin_name, name)
            continue
        if result is not None:
            results.append(result)
    return results


async def authorize(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> None:
    """Ask every implementation of a permission hook in turn; the first that raises refuses, and the ones after
    it are not asked (a later plugin must never charge for a conversion an earlier one refused)."""
    await _in_turn(pm, name, kwargs)


async def start(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> None:
    """Call every implementation of a startup hook in turn; the first failure propagates and stops the start
    (a pool that cannot open, a signing key that is too short)."""
    await _in_turn(pm, name, kwargs)


async def ask(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> list[Any]:
    """Every implementation's answer (None answers left out), asked in turn and awaited when it is an awaitable;
    the first that raises refuses, and the ones after it are not asked (an upload refused by one plugin is not
    counted by the next)."""
    return await _in_turn(pm, name, kwargs)


async def _in_turn(pm: pluggy.PluginManager, name: str, kwargs: dict[str, Any]) -> list[Any]:
    results = []
    for implementation in _implementations(pm, name):
        result = _call(implementation, kwargs)
        if inspect.isawaitable(result):
            result = await result
        if result is not None:
            results.append(result)
    return results


def collect(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> list[Any]:
    """Every implementation's answer to a synchronous hook (None answers left out), in call order."""
    return getattr(pm.hook, name)(**kwargs)


def first(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> Any:
    """The first answer that is not None to a synchronous `firstresult` hook; None when no plugin answers."""
    return getattr(pm.hook, name)(**kwargs)
