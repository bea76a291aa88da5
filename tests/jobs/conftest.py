"""The job tests run the small converters of tests/plugins/jobs and none of the bundled engines."""

import pytest
from job_api import Api
from plugin_folders import JOBS, bundled_plugin_names


@pytest.fixture
def anclora_overrides():
    return {"plugins_dirs": [str(JOBS)], "plugins_block": bundled_plugin_names(),
            "shutdown_grace": 2.0}


@pytest.fixture
def sample(anclora_ctx):
    """The sample plugin module as loaded by this test's application (its PIDS and EVENTS)."""
    return anclora_ctx.pm.get_plugin("sample_converters")


@pytest.fixture
def api(client):
    return Api(client)
