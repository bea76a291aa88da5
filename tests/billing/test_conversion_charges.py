"""Conversions cost credits beyond the free allowance: 402 with a checkout link, charges, refunds — over HTTP."""

import asyncio

from billing_helpers import credits, start, wait

TEXT = b"hello, plain text\n"


async def transactions(client, headers):
    response = await client.get("/api/billing/transactions", headers=headers)
    assert response.status_code == 200
    return response.json()["transactions"]


async def test_free_allowance_then_402_with_checkout_then_paid(client, signup, buy, stripe_fake):
    headers, _ = await signup()
    quote = await start(client, "a.txt", TEXT, "md", headers, dry_run=True)
    assert quote.status_code == 200 and quote.json()["cost"] == 3
    first = await start(client, "a.txt", TEXT, "md", headers)
    assert first.status_code == 202, first.text
    await wait(client, first.json()["id"], "succeeded", headers=headers)

    refused = await start(client, "b.txt", TEXT, "md", headers)
    assert refused.status_code == 402, refused.text
    error = refused.json()["error"]
    assert error["code"] == "payment_required" and error["details"]["checkout_url"].startswith(stripe_fake.url)
    quoted = await start(client, "b.txt", TEXT, "md", headers, dry_run=True)
    assert quoted.status_code == 402  # the same checkout link: refusals do not open a session each
    assert quoted.json()["error"]["details"]["checkout_url"] == error["details"]["checkout_url"]

    await buy(headers)
    paid = await start(client, "c.txt", TEXT, "md", headers)
    assert paid.status_code == 202
    await wait(client, paid.json()["id"], "succeeded", headers=headers)
    assert await credits(client, headers) == 97
    listed = await transactions(client, headers)
    assert [(t["payment_status"], t["credits"]) for t in listed] == [("paid", 3), ("free", 0)]
    assert listed[0]["conversion_id"] == paid.json()["id"]


async def test_failed_and_canceled_conversions_give_credits_back(client, signup, buy):
    headers, _ = await signup()
    await buy(headers)
    await wait(client, (await start(client, "a.txt", TEXT, "md", headers)).json()["id"], "succeeded",
               headers=headers)  # uses the free one

    failing = await start(client, "bad.yaml", b"key: value\n", "json", headers)
    assert failing.status_code == 202
    await wait(client, failing.json()["id"], "failed", headers=headers)
    waiting = await start(client, "t.csv", b"a,b\n1,2\n", "json", headers)
    await wait(client, waiting.json()["id"], "running", headers=headers)
    assert await credits(client, headers) == 100 - 5
    assert (await client.delete(f"/api/conversions/{waiting.json()['id']}", headers=headers)).status_code in (200, 202)
    await wait(client, waiting.json()["id"], "canceled", headers=headers)

    assert await credits(client, headers) == 100
    statuses = {t["conversion_id"]: t["payment_status"] for t in await transactions(client, headers)}
    assert statuses[failing.json()["id"]] == statuses[waiting.json()["id"]] == "refunded"


async def test_concurrent_conversions_never_overspend(client, signup, buy):
    headers, _ = await signup()
    await wait(client, (await start(client, "a.txt", TEXT, "md", headers)).json()["id"], "succeeded",
               headers=headers)
    await buy(headers, "tiny")  # 6 credits: two conversions at 3
    answers = await asyncio.gather(*[start(client, f"{i}.txt", TEXT, "md", headers) for i in range(6)])
    assert sorted(a.status_code for a in answers) == [202, 202, 402, 402, 402, 402]
    assert await credits(client, headers) == 0


async def test_anonymous_callers_are_not_billed(client):
    response = await start(client, "a.txt", TEXT, "md")
    assert response.status_code == 202
    await wait(client, response.json()["id"], "succeeded")
    assert (await client.get("/api/billing/transactions")).status_code == 401
