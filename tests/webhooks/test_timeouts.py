"""A receiver that does not answer within `webhook_timeout` is a failed attempt, retried later."""

import pytest
from job_api import Api
from webhook_helpers import fast_delivery, signed_in, until_async


@pytest.fixture
def anclora_overrides():
    return {**fast_delivery(), "webhook_timeout": 0.5, "webhook_backoff_seconds": 30}


async def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(client, listener):
    listener.delay = 2.0
    await signed_in(client)
    await Api(client).convert("note.txt", b"slow", "md", webhook_url=listener.url)

    async def attempted():
        listed = (await client.get("/api/webhooks/deliveries")).json()["deliveries"]
        return listed if listed and listed[0]["attempts"] >= 1 else None
    [delivery] = await until_async(attempted)
    assert delivery["last_error"] == "No answer within 0.5 s." and delivery["last_status_code"] is None
    assert delivery["status"] == "pending"
