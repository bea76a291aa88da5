"""Settings for conversion tests that run the sample converters of tests/plugins/jobs instead of the engines."""

from plugin_folders import JOBS, bundled_plugin_names


def sample_overrides() -> dict:
    return {"plugins_dirs": [str(JOBS)], "plugins_block": bundled_plugin_names(), "shutdown_grace": 2.0}
