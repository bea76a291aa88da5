"""An operator may block billing and rewards (`plugins_block`); accounts, uploads and conversions still work."""

import pytest
from billing_helpers import converter_overrides, start, wait


@pytest.fixture
def anclora_overrides():
    overrides = converter_overrides()
    overrides["plugins_block"] = overrides["plugins_block"] + ["billing", "rewards"]
    overrides["plan_limits"] = {"free": {"free_conversions_per_day": 0}}
    return overrides


async def test_core_flows_without_billing_and_rewards(client, anclora_ctx):
    assert anclora_ctx.pm.get_plugin("billing") is None and anclora_ctx.pm.get_plugin("rewards") is None
    registered = await client.post("/api/auth/register", json={"email": "plain@example.org",
                                                               "password": "long enough password"})
    assert registered.status_code == 201
    headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    login = await client.post("/api/auth/login", json={"email": "plain@example.org",
                                                       "password": "long enough password"})
    assert login.status_code == 200

    for _ in range(2):  # no free allowance, no credits: without billing it converts anyway
        response = await start(client, "a.txt", b"text\n", "md", headers)
        assert response.status_code == 202, response.text
        done = await wait(client, response.json()["id"], "succeeded", headers=headers)
        assert done["cost"] == 3  # the converter's own price, as no plugin prices it
    result = await client.get(f"/api/conversions/{done['id']}/result", headers=headers)
    assert result.status_code == 200 and result.content == b"TEXT\n"

    me = (await client.get("/api/me", headers=headers)).json()
    assert me["credits"] == 0 and me["points"] == 0 and me["limits"]["conversions_per_day"] > 0
    for path in ("/api/billing/packs", "/api/billing/transactions", "/api/rewards"):
        assert (await client.get(path, headers=headers)).status_code == 404
    assert (await client.post("/api/billing/webhook", content=b"{}")).status_code == 404
    assert (await client.get("/api/formats")).status_code == 200
