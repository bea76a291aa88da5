"""Webhook tests: a listener per test; the settings and helpers live in webhook_helpers."""

import sys
from pathlib import Path

import pytest
from webhook_helpers import Listener, fast_delivery

sys.path.insert(0, str(Path(__file__).parent.parent / "jobs"))  # (their client helpers: job_api)


@pytest.fixture
def anclora_overrides():
    return fast_delivery()


@pytest.fixture
async def listener():
    receiver = Listener()
    await receiver.start()
    yield receiver
    receiver.stop()
