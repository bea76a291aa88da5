"""Shared by the billing tests: webhook secrets, the priced test converters, and a few client calls."""

import asyncio

from plugin_folders import BILLING, bundled_plugin_names

WEBHOOK_SECRETS = ["whsec_old_" + "a" * 24, "whsec_new_" + "b" * 24]  # two during a rotation


def converter_overrides() -> dict:
    """Only the priced test converters: no bundled engine is started."""
    return {"plugins_dirs": [str(BILLING)], "plugins_block": bundled_plugin_names()}


async def start(client, filename: str, data: bytes, to: str, headers=None, **body):
    """Upload and ask for a conversion (computed: the result cache is skipped unless `cache=True`); the raw
    response."""
    body.setdefault("cache", False)
    uploaded = await client.post(f"/api/files?filename={filename}", content=data, headers=headers or {})
    assert uploaded.status_code == 201, uploaded.text
    return await client.post("/api/conversions", json={"file_id": uploaded.json()["id"], "to": to, **body},
                             headers=headers or {})


async def wait(client, conversion_id: str, *statuses: str, headers=None, timeout: float = 30.0) -> dict:
    """Poll the conversion until it reaches one of `statuses` (with a deadline)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body = (await client.get(f"/api/conversions/{conversion_id}", headers=headers or {})).json()
        if body["status"] in statuses:
            return body
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.05)


async def credits(client, headers) -> int:
    return (await client.get("/api/me", headers=headers)).json()["credits"]
