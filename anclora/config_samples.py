"""The sample configuration files (`anclora config-sample`, `config/anclora.example.toml`, `.env.example`),
generated from the declarations in `anclora.config` and the plugins' `anclora_settings`."""

from __future__ import annotations

from typing import Any, Mapping

from . import config


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def sample_toml(plugins: Mapping[str, tuple[config.Setting, ...]] | None = None) -> str:
    """A commented TOML file with every setting at its default, then each plugin's own in `[plugins.<name>]`."""
    lines = ["# Anclora configuration. Every setting at its default; environment variables override this file.", ""]
    for setting in config.SETTINGS:
        lines += _sample_entry(setting, setting.env_names)
    for plugin, settings in sorted((plugins or {}).items()):
        if settings:
            lines += [f"# Settings of the plugin {plugin!r}.", f"# [plugins.{plugin}]", ""]
            for setting in settings:
                lines += _sample_entry(setting, (_plugin_env(plugin, setting),))
    return "\n".join(lines)


def _sample_entry(setting: config.Setting, env_names: tuple[str, ...]) -> list[str]:
    lines = [f"# {setting.help}", f"# Environment: {', '.join(env_names)}"]
    if setting.choices:
        lines.append(f"# One of: {', '.join(setting.choices)}")
    return lines + [f"# {setting.name} = {_toml_value(setting.default)}", ""]


def _plugin_env(plugin: str, setting: config.Setting) -> str:
    return f"ANCLORA_PLUGINS__{plugin.upper()}__{setting.name.upper()}"


def sample_dotenv(plugins: Mapping[str, tuple[config.Setting, ...]] | None = None) -> str:
    """A commented .env file with every setting at its default, plugins' own included."""
    lines = ["# Anclora environment. Copy to .env and edit; real environment variables win.", ""]
    entries = [(setting, setting.env_names[0]) for setting in config.SETTINGS]
    entries += [(setting, _plugin_env(plugin, setting))
                for plugin, settings in sorted((plugins or {}).items()) for setting in settings]
    for setting, env_name in entries:
        default = setting.default
        if isinstance(default, list):
            default = ",".join(default)
        elif isinstance(default, bool):
            default = "true" if default else "false"
        lines += [f"# {setting.help}", f"# {env_name}={default}", ""]
    return "\n".join(lines)
