"""Signed webhooks of conversions: the event, its signature, retries with backoff, the delivery log."""

import asyncio
import json
import uuid

import pytest
from job_api import Api
from listener import Listener, verify

PASSWORD = "correct horse battery staple"


async def signed_in(client) -> dict:
    """Register an account and sign the client's requests with its token."""
    email = f"hooks-{uuid.uuid4().hex[:10]}@example.org"
    response = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return response.json()["user"]


async def new_secret(client) -> str:
    response = await client.post("/api/me/webhook-secret")
    assert response.status_code == 200, response.text
    return response.json()["webhook_secret"]


def event_of(received) -> dict:
    return json.loads(received.body)


async def until_async(condition, timeout: float = 20.0):
    """Poll an async `condition()` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await condition()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return value


@pytest.fixture
def flaky_listener(listener):
    listener.statuses = [500]
    return listener


async def test_a_failed_attempt_is_retried_and_every_attempt_is_signed_and_logged(client, flaky_listener):
    await signed_in(client)
    secret = await new_secret(client)
    api = Api(client)
    conversion = await api.convert("note.txt", b"hello hooks", "md", webhook_url=flaky_listener.url)

    first, second = await flaky_listener.wait_for(2)
    for received in (first, second):
        assert received.method == "POST" and received.headers["Content-Type"] == "application/json"
        assert verify(secret, received.headers["Anclora-Signature"], received.body)
        assert not verify("whsec_" + "0" * 48, received.headers["Anclora-Signature"], received.body)
        event = event_of(received)
        assert event["event"] == "conversion.succeeded"
        assert event["conversion"]["id"] == conversion["id"] and event["conversion"]["status"] == "succeeded"
        assert event["conversion"]["result_file_id"]
    assert second.at - first.at >= 0.5  # webhook_backoff_seconds before the retry
    assert first.headers["Anclora-Delivery-Id"] == second.headers["Anclora-Delivery-Id"]

    async def delivered():
        listed = (await client.get("/api/webhooks/deliveries")).json()["deliveries"]
        return listed if listed and listed[0]["status"] == "delivered" else None
    [delivery] = await until_async(delivered)
    assert delivery["conversion_id"] == conversion["id"] and delivery["event"] == "conversion.succeeded"
    assert delivery["attempts"] == 2 and delivery["last_status_code"] == 200 and delivery["delivered_at"]
    assert delivery["url"] == flaky_listener.url and delivery["next_attempt_at"] is None
    log = (await client.get(f"/api/webhooks/deliveries/{delivery['id']}")).json()["attempt_log"]
    assert [(attempt["number"], attempt["status_code"]) for attempt in log] == [(1, 500), (2, 200)]


async def test_failed_and_canceled_conversions_send_their_events(client, listener):
    await signed_in(client)
    api = Api(client)
    failed = await api.convert("bad.yaml", b"a: b\n", "json", webhook_url=listener.url)
    [received] = await listener.wait_for(1)
    assert event_of(received)["event"] == "conversion.failed"
    assert event_of(received)["conversion"]["id"] == failed["id"]
    assert event_of(received)["conversion"]["error"]["message"] == "this yaml is not acceptable"


async def test_a_rotated_secret_signs_beside_the_new_one(client, listener):
    await signed_in(client)
    old = await new_secret(client)
    new = await new_secret(client)
    assert old != new and new.startswith("whsec_")
    assert (await client.get("/api/me/webhook-secret")).json() == {"webhook_secret": new}
    await Api(client).convert("note.txt", b"rotate", "md", webhook_url=listener.url)
    [received] = await listener.wait_for(1)
    header = received.headers["Anclora-Signature"]
    assert header.count("v1=") == 2
    assert verify(new, header, received.body) and verify(old, header, received.body)


async def test_anonymous_callers_may_not_ask_for_a_webhook(client, listener):
    file_id = await Api(client).upload("note.txt", b"anonymous")
    response = await client.post("/api/conversions", json={"file_id": file_id, "to": "md",
                                                           "webhook_url": listener.url})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "sign in" in response.json()["error"]["message"]
    assert (await client.post("/api/me/webhook-secret")).status_code == 401
    assert (await client.get("/api/conversions")).json()["conversions"] == []


async def test_redelivery_sends_a_delivered_event_again(client, listener):
    await signed_in(client)
    await Api(client).convert("note.txt", b"again", "md", webhook_url=listener.url)
    await listener.wait_for(1)
    [delivery] = await until_async(lambda: _listed(client, "delivered"))
    again = await client.post(f"/api/webhooks/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 202 and again.json()["status"] == "pending"
    first, second = await listener.wait_for(2)
    assert first.body == second.body
    [delivery] = await until_async(lambda: _listed(client, "delivered"))
    assert delivery["attempts"] == 2
    client.headers.pop("Authorization")  # someone else (an anonymous session) cannot touch it
    assert (await client.post(f"/api/webhooks/deliveries/{delivery['id']}/redeliver")).status_code == 404


async def _listed(client, status: str):
    listed = (await client.get("/api/webhooks/deliveries")).json()["deliveries"]
    return listed if listed and all(delivery["status"] == status for delivery in listed) else None


async def test_redirects_are_not_followed(client, listener):
    listener.statuses = [302] * 20
    await signed_in(client)
    await Api(client).convert("note.txt", b"moved", "md", webhook_url=listener.url)
    await listener.wait_for(2)
    [delivery] = (await client.get("/api/webhooks/deliveries")).json()["deliveries"]
    assert delivery["last_status_code"] == 302 and delivery["status"] == "pending"
    assert {received.path for received in listener.received} == {"/hook"}
