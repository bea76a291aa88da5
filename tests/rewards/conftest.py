"""Rewards tests: priced test converters, a real SMTP server for verification mail, addresses via a proxy."""

import uuid

import pytest
from accounts.smtp_sink import token_in
from billing.billing_helpers import converter_overrides


@pytest.fixture
def anclora_overrides(smtp):
    return {"mail_server": "127.0.0.1", "mail_port": smtp.port, "mail_use_tls": False,
            "plan_limits": {"free": {"free_conversions_per_day": 100, "concurrent_jobs": 10,
                                     "uploads_per_minute": 100}},
            "level_points": "0,30,1000", "trusted_proxies": ["127.0.0.1"], **converter_overrides()}


@pytest.fixture
def account(client, smtp):
    """`await account(address=..., email=..., verify=True, referral_code=None)` -> (headers, user)."""
    async def make(address="10.0.0.1", email=None, verify=True, referral_code=None):
        email = email or f"member-{uuid.uuid4().hex[:10]}@example.org"
        body = {"email": email, "password": "long enough password"}
        if referral_code:
            body["referral_code"] = referral_code
        response = await client.post("/api/auth/register", json=body, headers={"X-Real-IP": address})
        assert response.status_code == 201, response.text
        if verify:
            token = token_in(await smtp.wait_for(email, "Confirm"))
            assert (await client.post("/api/auth/verify", json={"token": token})).status_code == 200
        data = response.json()
        return {"Authorization": f"Bearer {data['access_token']}", "X-Real-IP": address}, data["user"]
    return make
