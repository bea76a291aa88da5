"""Billing tests: a fake Stripe API over HTTP, a real SMTP server, and helpers to sign and deliver events."""

import json
import uuid

import pytest
from billing_helpers import WEBHOOK_SECRETS, converter_overrides
from fake_stripe import API_KEY, FakeStripe, event, sign


@pytest.fixture
async def stripe_fake():
    fake = FakeStripe().start()
    yield fake
    await fake.stop()


@pytest.fixture
def anclora_overrides(smtp, stripe_fake):
    return {"mail_server": "127.0.0.1", "mail_port": smtp.port, "mail_use_tls": False,
            "stripe_secret_key": API_KEY, "stripe_api_base": stripe_fake.url,
            "stripe_webhook_secret": ",".join(WEBHOOK_SECRETS),
            "credit_packs": [{"id": "tiny", "name": "6 credits", "credits": 6, "amount_cents": 100},
                             {"id": "small", "name": "100 credits", "credits": 100, "amount_cents": 500}],
            "plan_limits": {"free": {"free_conversions_per_day": 1, "concurrent_jobs": 10}},
            **converter_overrides()}


@pytest.fixture
def signup(client):
    """`await signup()` -> (headers, user JSON) of a new account."""
    async def make(**extra):
        email = f"buyer-{uuid.uuid4().hex[:10]}@example.org"
        response = await client.post("/api/auth/register",
                                     json={"email": email, "password": "long enough password", **extra})
        assert response.status_code == 201, response.text
        body = response.json()
        return {"Authorization": f"Bearer {body['access_token']}"}, body["user"]
    return make


@pytest.fixture
def deliver(client):
    """`await deliver(event)` POSTs a signed Stripe event; `secret`, `timestamp` and `body` may be forced."""
    async def post(event, secret=WEBHOOK_SECRETS[-1], timestamp=None, body=None):
        payload = body if body is not None else json.dumps(event).encode()
        return await client.post("/api/billing/webhook", content=payload, headers={
            "Stripe-Signature": sign(secret, json.dumps(event).encode() if body is not None else payload,
                                     timestamp),
            "Content-Type": "application/json"})
    return post


@pytest.fixture
def buy(client, stripe_fake, deliver):
    """`await buy(headers, pack)`: checkout, pay, and the webhook that credits the pack."""
    async def purchase(headers, pack="small"):
        opened = await client.post("/api/billing/checkout", json={"pack": pack}, headers=headers)
        assert opened.status_code == 201, opened.text
        paid = stripe_fake.pay(opened.json()["session_id"])
        assert (await deliver(event("checkout.session.completed", paid))).json()["result"] == "granted"
        return paid
    return purchase
