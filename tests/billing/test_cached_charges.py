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
