"""Buying credit packs through Stripe Checkout; webhooks verified and applied exactly once in any order."""

import asyncio
import json
import time

from billing_helpers import WEBHOOK_SECRETS, credits
from fake_stripe import charge, event, sign


async def checkout(client, headers, pack="small", **extra_headers):
    response = await client.post("/api/billing/checkout", json={"pack": pack}, headers={**headers, **extra_headers})
    assert response.status_code == 201, response.text
    return response.json()


async def test_packs_and_checkout(client, signup, stripe_fake):
    packs = (await client.get("/api/billing/packs")).json()["packs"]
    assert {"id", "credits", "amount_cents", "currency"} <= set(packs[0])
    assert (await client.post("/api/billing/checkout", json={"pack": "small"})).status_code == 401

    headers, user = await signup()
    opened = await checkout(client, headers)
    assert opened["checkout_url"].startswith(stripe_fake.url) and opened["session_id"].startswith("cs_test_")
    sent = stripe_fake.requests[-1]
    assert sent["idempotency_key"] and sent["params"]["client_reference_id"] == user["id"]
    small = next(pack for pack in packs if pack["id"] == "small")
    assert sent["params"]["line_items[0][price_data][unit_amount]"] == str(small["amount_cents"])

    again = [await checkout(client, headers, **{"Idempotency-Key": "buy-1"}) for _ in range(2)]
    assert again[0]["session_id"] == again[1]["session_id"] != opened["session_id"]
    unknown = await client.post("/api/billing/checkout", json={"pack": "nope"}, headers=headers)
    assert unknown.status_code == 422


async def test_paid_checkout_credits_once_and_mails_a_receipt(client, signup, stripe_fake, deliver, smtp):
    headers, user = await signup()
    opened = await checkout(client, headers)
    paid = event("checkout.session.completed", stripe_fake.pay(opened["session_id"]))
    answers = await asyncio.gather(*[deliver(paid) for _ in range(10)])
    assert [a.status_code for a in answers] == [200] * 10
    assert sum(1 for a in answers if a.json().get("result") == "granted") == 1
    assert await credits(client, headers) == 100
    assert (await deliver(paid)).json()["duplicate"] is True
    assert await credits(client, headers) == 100
    receipt = await smtp.wait_for(user["email"], "receipt")
    assert "100 credits" in receipt.get_content()


async def test_signatures_are_checked(client, signup, stripe_fake, deliver):
    headers, _ = await signup()
    paid = event("checkout.session.completed", stripe_fake.pay((await checkout(client, headers))["session_id"]))

    replayed = await deliver(paid, timestamp=int(time.time()) - 301)
    assert replayed.status_code == 400
    from_the_future = await deliver(paid, timestamp=int(time.time()) + 3600)
    assert from_the_future.status_code == 400 and "future" in from_the_future.json()["error"]["message"]
    reserialised = json.dumps(paid, indent=2).encode()  # same content, other bytes than were signed
    assert (await deliver(paid, body=reserialised)).status_code == 400
    assert (await deliver(paid, secret="whsec_someone_else")).status_code == 400
    unsigned = await client.post("/api/billing/webhook", content=json.dumps(paid).encode())
    assert unsigned.status_code == 400
    assert await credits(client, headers) == 0

    # the older secret still works, and a sender's clock a minute fast is within the tolerance
    slightly_ahead = int(time.time()) + 60
    assert (await deliver(paid, secret=WEBHOOK_SECRETS[0], timestamp=slightly_ahead)).status_code == 200
    assert await credits(client, headers) == 100


async def test_webhook_bodies_are_capped(client):
    huge = b"{" + b" " * (70 * 1024) + b"}"
    response = await client.post("/api/billing/webhook", content=huge,
                                 headers={"Stripe-Signature": sign(WEBHOOK_SECRETS[0], huge)})
    assert response.status_code == 413


async def test_delayed_payment_methods(client, signup, stripe_fake, deliver):
    headers, _ = await signup()
    first = (await checkout(client, headers))["session_id"]
    pending = stripe_fake.pay(first, payment_status="unpaid")
    assert (await deliver(event("checkout.session.completed", pending))).json()["result"] == "pending"
    assert await credits(client, headers) == 0
    await deliver(event("checkout.session.async_payment_succeeded", {**pending, "payment_status": "paid"}))
    assert await credits(client, headers) == 100

    second = stripe_fake.pay((await checkout(client, headers))["session_id"], payment_status="unpaid")
    await deliver(event("checkout.session.async_payment_failed", second))
    await deliver(event("checkout.session.completed", second))
    assert await credits(client, headers) == 100


async def test_refunds_and_disputes_reverse_what_was_granted_in_any_order(client, signup, stripe_fake, deliver):
    headers, _ = await signup()
    early = stripe_fake.pay((await checkout(client, headers))["session_id"])
    refund_first = await deliver(event("charge.refunded", charge(early)))
    assert refund_first.json()["result"] == "refunded"  # found through Stripe: the session of the payment intent
    await deliver(event("checkout.session.completed", early))
    assert await credits(client, headers) == 0

    bought = stripe_fake.pay((await checkout(client, headers))["session_id"])
    await deliver(event("checkout.session.completed", bought))
    assert await credits(client, headers) == 100
    await deliver(event("charge.dispute.created", {"id": "dp_1", "object": "dispute",
                                                   "payment_intent": bought["payment_intent"]}))
    assert await credits(client, headers) == 0
    await deliver(event("charge.refunded", charge(bought)))
    assert await credits(client, headers) == 0

    partial = stripe_fake.pay((await checkout(client, headers))["session_id"])
    await deliver(event("checkout.session.completed", partial))
    await deliver(event("charge.refunded", charge(partial, refunded=False, amount_refunded=100)))
    assert await credits(client, headers) == 100


async def test_events_for_unknown_sessions_are_acknowledged_and_ignored(client, deliver):
    response = await deliver(event("checkout.session.completed", {"id": "cs_test_not_ours", "payment_status": "paid"}))
    assert response.status_code == 200 and response.json()["result"] == "ignored"
    other = await deliver(event("customer.created", {"id": "cus_1"}))
    assert other.status_code == 200
