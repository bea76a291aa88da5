"""Webhook targets on loopback, private, link-local or metadata addresses are refused before any connection."""

import pytest
from job_api import Api
from webhook_helpers import fast_delivery, signed_in, until_async

from anclora.webhooks import deliveries, targets


@pytest.fixture
def anclora_overrides():
    return {**fast_delivery(), "webhook_private_targets": False}


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/hook",  # the listener itself
    "http://localhost:{port}/hook",  # a name that resolves to loopback
    "http://[::1]:{port}/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",
    "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "http://10.0.0.1/hook", "http://192.168.1.1/hook", "http://0.0.0.0:{port}/hook",
])
async def test_private_targets_are_refused_when_the_conversion_is_requested(client, listener, url):
    await signed_in(client)
    file_id = await Api(client).upload("note.txt", b"ssrf")
    response = await client.post("/api/conversions", json={"file_id": file_id, "to": "md",
                                                           "webhook_url": url.format(port=listener.port)})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "webhook_target_refused"
    assert "public addresses only" in response.json()["error"]["message"]
    assert (await client.get("/api/conversions")).json()["conversions"] == []
    assert listener.connections == 0


@pytest.mark.parametrize("url", ["ftp://example.org/x", "http:///nohost", "http://example.org:99999/"])
async def test_malformed_targets_are_refused(client, url):
    await signed_in(client)
    file_id = await Api(client).upload("note.txt", b"ssrf")
    response = await client.post("/api/conversions", json={"file_id": file_id, "to": "md", "webhook_url": url})
    assert response.status_code in (400, 422) and response.json()["error"]["code"] in (
        "bad_request", "webhook_target_refused")


async def test_a_target_is_checked_again_before_each_attempt(anclora_ctx, client, listener):
    """A delivery queued while its host looked public, now resolving to loopback: refused, nothing sent."""
    user = await signed_in(client)
    await deliveries.enqueue(anclora_ctx, owner_user_id=user["id"], owner_session_id=None, url=listener.url,
                             event="test.event", body=b"{}")

    async def attempted():
        listed = (await client.get("/api/webhooks/deliveries")).json()["deliveries"]
        return listed if listed and listed[0]["attempts"] >= 1 else None
    [delivery] = await until_async(attempted)
    assert delivery["last_status_code"] is None and "loopback" in delivery["last_error"]
    assert listener.connections == 0
    metrics = (await client.get("/api/metrics")).text
    assert 'anclora_webhook_attempts_total{outcome="refused"}' in metrics


@pytest.mark.backend_independent
@pytest.mark.parametrize("address, refused", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
    ("192.168.0.1", "private"), ("fc00::1", "private"), ("169.254.10.10", "link-local"), ("fe80::1", "link-local"),
    ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"), ("100.100.100.200", "metadata"),
    ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"), ("100.64.0.1", "non-public"),
    ("::ffff:10.0.0.1", "private"), ("8.8.8.8", None), ("2606:4700:4700::1111", None),
])
def test_addresses_are_classified_without_any_traffic(address, refused):
    reason = targets.refusal(address)
    assert (reason is None) if refused is None else (refused in reason)
