"""A paid pack earns a verified buyer a bonus; a refund takes back the pack and its bonus."""

from accounts.smtp_sink import token_in
from billing_helpers import credits
from fake_stripe import charge, event


async def test_purchase_bonus_and_its_reversal(client, signup, buy, deliver, smtp):
    headers, user = await signup()
    token = token_in(await smtp.wait_for(user["email"], "Confirm"))
    assert (await client.post("/api/auth/verify", json={"token": token})).status_code == 200

    paid = await buy(headers)
    rewards = (await client.get("/api/rewards", headers=headers)).json()["rewards"]
    assert [(r["type"], r["credits"], r["source"]) for r in rewards] == [("purchase_bonus", 10, paid["id"])]
    assert await credits(client, headers) == 110

    await deliver(event("charge.refunded", charge(paid)))
    await client.get("/api/rewards", headers=headers)
    assert await credits(client, headers) == 0


async def test_unverified_buyers_get_no_bonus(client, signup, buy):
    headers, _ = await signup()
    await buy(headers)
    assert (await client.get("/api/rewards", headers=headers)).json()["rewards"] == []
    assert await credits(client, headers) == 100
