"""Webhook tests: the small converters of tests/jobs/plugins, loopback targets allowed, short backoffs."""

import sys
from pathlib import Path

import pytest
from listener import Listener

from anclora.plugins import bundled_plugins_dir

JOBS_TESTS = Path(__file__).parent.parent / "jobs"
SAMPLE_PLUGINS = JOBS_TESTS / "plugins"
sys.path.insert(0, str(JOBS_TESTS))  # (their client helpers: job_api)


def bundled_plugin_names() -> list[str]:
    return sorted(path.stem for path in bundled_plugins_dir().glob("*.py") if not path.name.startswith("_"))


def fast_delivery() -> dict:
    return {"plugins_dirs": [str(SAMPLE_PLUGINS)], "plugins_block": bundled_plugin_names(),
            "webhook_private_targets": True, "webhook_backoff_seconds": 0.5, "webhook_poll_seconds": 0.1,
            "shutdown_grace": 2.0}


@pytest.fixture
def anclora_overrides():
    return fast_delivery()


@pytest.fixture
async def listener():
    receiver = Listener()
    await receiver.start()
    yield receiver
    receiver.stop()
