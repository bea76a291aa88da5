"""Gotenberg route tests: the real gotenberg-client pointed at a live server with the bundled engines."""

import sys
import uuid
from pathlib import Path

import pytest
from gotenberg_client import AsyncGotenbergClient

sys.path.insert(0, str(Path(__file__).parent.parent / "webhooks"))  # (its local listener)


@pytest.fixture
def anclora_overrides():
    return {"office_pool_size": 1}


@pytest.fixture
async def gotenberg(anclora_server):
    async with AsyncGotenbergClient(anclora_server, timeout=120) as client:
        yield client


@pytest.fixture
def api_key(client):
    """`await api_key()` -> an API key of a new account."""
    async def make() -> str:
        registered = await client.post("/api/auth/register", json={
            "email": f"g-{uuid.uuid4().hex[:10]}@example.org", "password": "long enough password"})
        assert registered.status_code == 201, registered.text
        created = await client.post("/api/me/api-keys", json={"name": "gotenberg"},
                                    headers={"Authorization": f"Bearer {registered.json()['access_token']}"})
        return created.json()["key"]
    return make
