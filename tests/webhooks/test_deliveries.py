"""Signed webhooks of conversions: the event, its signature, retries with backoff, the delivery log."""

import datetime as dt
import json

import pytest
from job_api import Api
from webhook_helpers import signed_in, until_async, verify

from sqlalchemy import delete, update

from anclora.db.base import utcnow
from anclora.db.models import WebhookDelivery
from anclora.identity import session_id_for
from anclora.webhooks import conversions, deliveries


async def new_secret(client) -> str:
    response = await client.post("/api/me/webhook-secret")
    assert response.status_code == 200, response.text
    return response.json()["webhook_secret"]


def event_of(received) -> dict:
    return json.loads(received.body)


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
    metrics = (await client.get("/api/metrics")).text
    assert 'anclora_webhook_attempts_total{outcome="retry"} 1.0' in metrics
    assert 'anclora_webhook_attempts_total{outcome="delivered"} 1.0' in metrics
    assert "anclora_webhook_delivery_seconds_count 1.0" in metrics


async def test_failed_and_canceled_conversions_send_their_events(client, listener):
    await signed_in(client)
    api = Api(client)
    failed = await api.convert("bad.yaml", b"a: b\n", "json", webhook_url=listener.url)
    [received] = await listener.wait_for(1)
    assert event_of(received)["event"] == "conversion.failed"
    assert event_of(received)["conversion"]["id"] == failed["id"]
    assert event_of(received)["conversion"]["error"]["message"] == "this yaml is not acceptable"


async def test_a_canceled_conversion_sends_its_event(client, listener):
    await signed_in(client)
    api = Api(client)
    job = await api.convert("rows.csv", b"a,b\n1,2\n", "json", webhook_url=listener.url)  # runs until canceled
    await api.wait(job["id"], "running")
    assert (await client.delete(f"/api/conversions/{job['id']}")).status_code == 200
    [received] = await listener.wait_for(1)
    assert event_of(received)["event"] == "conversion.canceled"
    assert event_of(received)["conversion"]["status"] == "canceled"


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


async def test_a_stored_file_is_sent_as_the_body_with_the_callers_method_and_headers(anclora_ctx, client, listener):
    """What other features (Gotenberg's webhook mode) queue: a result file streamed from storage."""
    user = await signed_in(client)
    secret = await new_secret(client)
    content = bytes(range(256)) * 3000  # (under the sample plugins' upload limit)
    file_id = await Api(client).upload("result.bin", content)
    delivery_id = await deliveries.enqueue(
        anclora_ctx, owner_user_id=user["id"], owner_session_id=None, url=listener.url, event="gotenberg.success",
        body_file_id=file_id, content_type="application/pdf", method="PUT", headers={"X-Trace": "abc"})
    [received] = await listener.wait_for(1)
    assert received.method == "PUT" and received.body == content
    assert received.headers["Content-Type"] == "application/pdf" and received.headers["X-Trace"] == "abc"
    assert received.headers["Anclora-Delivery-Id"] == delivery_id
    assert verify(secret, received.headers["Anclora-Signature"], content)


async def test_an_anonymous_owners_delivery_is_unsigned_and_listed_for_its_session(anclora_ctx, client, listener):
    await client.get("/api/me")  # (the anonymous session this client now holds)
    session = client.cookies["anclora_session"]
    await deliveries.enqueue(anclora_ctx, owner_user_id=None, owner_session_id=session_id_for(session),
                             url=listener.url, event="gotenberg.error", body=b'{"status": 400}')
    [received] = await listener.wait_for(1)
    assert "Anclora-Signature" not in received.headers and received.body == b'{"status": 400}'
    [delivery] = await until_async(lambda: _listed(client, "delivered"))
    assert delivery["event"] == "gotenberg.error" and delivery["conversion_id"] is None



async def test_an_event_a_stopped_process_never_queued_is_queued_once(anclora_ctx, client, listener):
    await signed_in(client)
    conversion = await Api(client).convert("note.txt", b"recover", "md", webhook_url=listener.url)
    [sent] = await listener.wait_for(1)
    await until_async(lambda: _listed(client, "delivered"))
    async with anclora_ctx.sessionmaker() as session:  # as if the process had stopped before queuing it
        await session.execute(delete(WebhookDelivery))
        await session.commit()

    assert await conversions.recover(anclora_ctx) == 1
    assert await conversions.recover(anclora_ctx) == 0
    again = await deliveries.enqueue(anclora_ctx, owner_user_id=None, owner_session_id="x", url=listener.url,
                                     event="conversion.succeeded", body=b"{}", conversion_id=conversion["id"])
    [_, resent] = await listener.wait_for(2)
    assert resent.body == sent.body and resent.headers["Anclora-Delivery-Id"] == again
    [delivery] = await until_async(lambda: _listed(client, "delivered"))
    assert delivery["id"] == again and len(listener.received) == 2


async def test_deliveries_older_than_the_log_keeps_are_pruned(anclora_ctx, client, listener):
    await signed_in(client)
    await Api(client).convert("note.txt", b"old", "md", webhook_url=listener.url)
    [delivery] = await until_async(lambda: _listed(client, "delivered"))
    assert await deliveries.prune(anclora_ctx) == 0
    async with anclora_ctx.sessionmaker() as session:
        await session.execute(update(WebhookDelivery).values(created_at=utcnow() - dt.timedelta(days=31)))
        await session.commit()
    assert await deliveries.prune(anclora_ctx) == 1
    assert (await client.get("/api/webhooks/deliveries")).json()["deliveries"] == []
