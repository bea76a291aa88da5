"""A conversion answered from the result cache is free by default; `cache_charge_fraction` charges a share."""

import pytest
from billing_helpers import credits, start, wait

TEXT = b"cache me\n"


@pytest.fixture
def anclora_overrides(anclora_overrides, request):
    return {**anclora_overrides, **getattr(request, "param", {})}


async def computed_then_cached(client, headers) -> dict:
    """One conversion on the free allowance, one paid (3 credits), then a repeat of the first."""
    for name, data in (("a.txt", TEXT), ("b.txt", b"other words\n")):
        response = await start(client, name, data, "md", headers, cache=True)
        assert response.status_code == 202, response.text
        assert (await wait(client, response.json()["id"], "succeeded", headers=headers))["cached"] is False
    cached = await start(client, "c.txt", TEXT, "md", headers, cache=True)
    assert cached.status_code == 202, cached.text
    assert cached.json()["status"] == "succeeded" and cached.json()["cached"] is True
    return cached.json()


async def test_a_cached_conversion_is_free(client, signup, buy):
    headers, _ = await signup()
    await buy(headers)
    cached = await computed_then_cached(client, headers)
    assert cached["cost"] == 0 and await credits(client, headers) == 97
    listed = (await client.get("/api/billing/transactions", headers=headers)).json()["transactions"]
    mine = next(t for t in listed if t["conversion_id"] == cached["id"])
    assert (mine["credits"], mine["free"]) == (0, True)


@pytest.mark.parametrize("anclora_overrides", [{"cache_charge_fraction": 0.5}], indirect=True)
async def test_a_cached_conversion_may_cost_a_share(client, signup, buy):
    headers, _ = await signup()
    await buy(headers)
    cached = await computed_then_cached(client, headers)
    assert cached["cost"] == 2 and await credits(client, headers) == 95  # half of 3, rounded up


async def one_shot(client, headers, filename: str, data: bytes):
    response = await client.post(f"/api/convert?to=md&filename={filename}", content=data, headers=headers)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("anclora_overrides", [{"cache_charge_fraction": 0.5}], indirect=True)
async def test_a_one_shot_answered_from_the_cache_is_charged_its_share(client, signup, buy):
    headers, _ = await signup()
    await buy(headers)
    computed = await one_shot(client, headers, "a.txt", TEXT)  # the free allowance
    await one_shot(client, headers, "b.txt", b"other words\n")  # 3 credits
    cached = await one_shot(client, headers, "c.txt", TEXT)
    assert cached.content == computed.content and await credits(client, headers) == 95  # half of 3, rounded up
    conversions = (await client.get("/api/conversions", headers=headers)).json()["conversions"]
    assert [(c["cached"], c["cost"]) for c in conversions] == [(True, 2), (False, 3), (False, 3)]
    listed = (await client.get("/api/billing/transactions", headers=headers)).json()["transactions"]
    mine = next(t for t in listed if t["conversion_id"] == conversions[0]["id"])
    assert (mine["credits"], mine["free"], mine["payment_status"]) == (2, False, "paid")


@pytest.mark.parametrize("anclora_overrides", [{"plan_limits": {"free": {"conversions_per_day": 2}}}],
                         indirect=True)
async def test_a_one_shot_answered_from_the_cache_counts_against_the_daily_limit(client, signup):
    headers, _ = await signup()
    await one_shot(client, headers, "a.txt", TEXT)
    await one_shot(client, headers, "b.txt", TEXT)  # from the cache, and the second of the day
    third = await client.post("/api/convert?to=md&filename=c.txt", content=TEXT, headers=headers)
    assert third.status_code == 429 and third.json()["error"]["details"] == {"limit": "conversions_per_day"}
    conversions = (await client.get("/api/conversions", headers=headers)).json()["conversions"]
    assert [c["cached"] for c in conversions] == [True, False]  # the refused one left no row
