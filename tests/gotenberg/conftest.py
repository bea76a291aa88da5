"""Gotenberg route tests: the real gotenberg-client pointed at a live server with the bundled engines."""

import pytest
from gotenberg_client import AsyncGotenbergClient


@pytest.fixture
def anclora_overrides():
    return {"office_pool_size": 1}


@pytest.fixture
async def gotenberg(anclora_server):
    async with AsyncGotenbergClient(anclora_server, timeout=120) as client:
        yield client
