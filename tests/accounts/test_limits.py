"""Plan limits over HTTP: upload size from the headers, uploads per minute, conversions per day and concurrent
jobs — anonymous ones keyed on the session AND the address; every 429 carries Retry-After."""

import asyncio

import httpx
import pytest
from billing.billing_helpers import converter_overrides, start, wait


@pytest.fixture
def anclora_overrides():
    return {"plan_limits": {"anonymous": {"conversions_per_day": 2, "concurrent_jobs": 1, "uploads_per_minute": 4,
                                          "max_upload_bytes": 1000}},
            "login_attempts_per_address": 3, **converter_overrides()}


def assert_429(response, code: str, most: int, says: str = "") -> None:
    """A 429 with `code`, a Retry-After of at most `most` seconds, and a message saying what it counted."""
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == code
    assert says in response.json()["error"]["message"]
    assert 0 < int(response.headers["Retry-After"]) <= most


async def test_dropping_the_session_cookie_does_not_reset_the_daily_limit(client, anclora_server):
    for _ in range(2):
        response = await start(client, "a.txt", b"text\n", "md")
        assert response.status_code == 202
        await wait(client, response.json()["id"], "succeeded")
    assert_429(await start(client, "a.txt", b"text\n", "md"), "quota_exceeded", 86400)

    async with httpx.AsyncClient(base_url=anclora_server) as fresh:  # no cookie: a new anonymous session
        refused = await start(fresh, "a.txt", b"text\n", "md")
        assert_429(refused, "quota_exceeded", 86400)
        assert refused.headers["X-Anclora-Session"] != client.cookies.get("anclora_session")
        me = (await fresh.get("/api/me")).json()
        assert me["usage"]["conversions_today"] >= 2


async def test_uploads_per_minute_follow_the_address(client, anclora_server):
    for _ in range(4):
        assert (await client.post("/api/files?filename=a.txt", content=b"x")).status_code == 201
    says = "More than 4 uploads started in one minute"
    assert_429(await client.post("/api/files?filename=a.txt", content=b"x"), "rate_limited", 60, says)
    async with httpx.AsyncClient(base_url=anclora_server) as fresh:
        assert_429(await fresh.post("/api/files?filename=a.txt", content=b"x"), "rate_limited", 60, says)


async def test_upload_size_is_refused_from_the_headers_by_plan(client):
    refused = await client.post("/api/files?filename=big.txt", content=b"x" * 5000)
    assert refused.status_code == 413 and refused.json()["error"]["details"]["limit"] == 1000
    signed = await client.post("/api/auth/register", json={"email": "big@example.org", "password": "long password"})
    headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    assert (await client.post("/api/files?filename=big.txt", content=b"x" * 5000, headers=headers)).status_code == 201


async def test_concurrent_jobs(client):
    waiting = await start(client, "t.csv", b"a,b\n1,2\n", "json")
    assert waiting.status_code == 202
    await wait(client, waiting.json()["id"], "running")
    assert_429(await start(client, "a.txt", b"text\n", "md"), "quota_exceeded", 60)
    await client.delete(f"/api/conversions/{waiting.json()['id']}")
    await wait(client, waiting.json()["id"], "canceled")
    assert (await start(client, "a.txt", b"text\n", "md")).status_code == 202


async def test_failed_logins_are_throttled_per_address_across_accounts(client):
    for number in range(3):
        response = await client.post("/api/auth/login", json={"email": f"guess{number}@example.org",
                                                               "password": "not the password"})
        assert response.status_code == 401
    assert_429(await client.post("/api/auth/login", json={"email": "other@example.org", "password": "whatever1"}),
               "rate_limited", 900, "3 failed logins from your address within 15 minutes")


async def test_limits_hold_under_concurrent_requests(client):
    uploads = [await client.post("/api/files?filename=t.csv", content=b"a,b\n1,2\n") for _ in range(4)]
    answers = await asyncio.gather(*[client.post("/api/conversions", json={"file_id": u.json()["id"], "to": "json"})
                                     for u in uploads])
    assert sorted(a.status_code for a in answers) == [202, 429, 429, 429]
    for refused in (a for a in answers if a.status_code == 429):
        assert_429(refused, "quota_exceeded", 60)
    accepted = next(a for a in answers if a.status_code == 202).json()["id"]
    await client.delete(f"/api/conversions/{accepted}")
    await wait(client, accepted, "canceled")
