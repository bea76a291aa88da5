"""Settings for conversion tests that run the sample converters of tests/jobs/plugins instead of the engines."""

from pathlib import Path

from anclora.plugins import bundled_plugins_dir

SAMPLE_PLUGINS = Path(__file__).parent.parent / "jobs" / "plugins"


def bundled_plugin_names() -> list[str]:
    folder = bundled_plugins_dir()
    return sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_")) if folder else []


def sample_overrides() -> dict:
    return {"plugins_dirs": [str(SAMPLE_PLUGINS)], "plugins_block": bundled_plugin_names(), "shutdown_grace": 2.0}
