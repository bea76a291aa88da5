"""The job tests run the small converters of tests/jobs/plugins and none of the bundled engines."""

import asyncio
from pathlib import Path

import pytest

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


class Api:
    """The few calls the job tests repeat, made the way a client makes them."""

    def __init__(self, client):
        self.client = client

    async def upload(self, filename: str, data: bytes) -> str:
        response = await self.client.post(f"/api/files?filename={filename}", content=data)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def convert(self, filename: str, data: bytes, to: str, **body) -> dict:
        file_id = await self.upload(filename, data)
        response = await self.client.post("/api/conversions", json={"file_id": file_id, "to": to, **body})
        assert response.status_code == 202, response.text
        return response.json()

    async def wait(self, conversion_id: str, *statuses: str, timeout: float = 30.0) -> dict:
        """Poll until the conversion reaches one of `statuses` (a deadline, never a fixed sleep)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            response = await self.client.get(f"/api/conversions/{conversion_id}")
            assert response.status_code == 200, response.text
            body = response.json()
            if body["status"] in statuses:
                return body
            assert asyncio.get_running_loop().time() < deadline, f"still {body['status']}: {body}"
            await asyncio.sleep(0.05)


@pytest.fixture
def api(client):
    return Api(client)
