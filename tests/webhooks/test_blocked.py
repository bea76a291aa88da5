"""With the webhooks plugin blocked, `webhook_url` is refused instead of silently ignored."""

import pytest
from job_api import Api
from webhook_helpers import fast_delivery, signed_in


@pytest.fixture
def anclora_overrides():
    settings = fast_delivery()
    return {**settings, "plugins_block": settings["plugins_block"] + ["webhooks"]}


async def test_webhook_url_is_refused_and_the_routes_are_gone(client, listener):
    await signed_in(client)
    file_id = await Api(client).upload("note.txt", b"blocked")
    response = await client.post("/api/conversions", json={"file_id": file_id, "to": "md",
                                                           "webhook_url": listener.url})
    assert response.status_code == 400 and "webhook_url" in response.json()["error"]["message"]
    assert (await client.get("/api/webhooks/deliveries")).status_code == 404
    assert (await client.post("/api/me/webhook-secret")).status_code == 404
