"""The job tests run the small converters of tests/jobs/plugins and none of the bundled engines."""

from pathlib import Path

import pytest
from job_api import Api

from anclora.plugins import bundled_plugins_dir

SAMPLE_PLUGINS = Path(__file__).parent / "plugins"


def bundled_plugin_names() -> list[str]:
    folder = bundled_plugins_dir()
    return sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_")) if folder else []


@pytest.fixture
def anclora_overrides():
    return {"plugins_dirs": [str(SAMPLE_PLUGINS)], "plugins_block": bundled_plugin_names(),
            "shutdown_grace": 2.0}


@pytest.fixture
def sample(anclora_ctx):
    """The sample plugin module as loaded by this test's application (its PIDS and EVENTS)."""
    return anclora_ctx.pm.get_plugin("sample_converters")



@pytest.fixture
def api(client):
    return Api(client)
