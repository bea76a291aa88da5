"""Register, verify, log in, refresh, log out, reset and change a password — over HTTP, mail read from SMTP."""

import datetime as dt
import statistics
import time
import uuid

import jwt

from anclora.accounts import tokens
from anclora.db.models import User
from anclora.testing import TEST_JWT_SECRET
from smtp_sink import token_in

PASSWORD = "correct horse battery"


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.org"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def register(client, email=None, password=PASSWORD, **extra):
    email = email or new_email()
    response = await client.post("/api/auth/register", json={"email": email, "password": password, **extra})
    assert response.status_code == 201, response.text
    return email, response.json()


async def test_register_verify_and_me(client, smtp):
    email, body = await register(client)
    assert set(body) >= {"user", "access_token", "refresh_token"}
    assert body["user"]["email"] == email and body["user"]["is_verified"] is False

    token = token_in(await smtp.wait_for(email, "Confirm"))
    verified = await client.post("/api/auth/verify", json={"token": token})
    assert verified.status_code == 200 and verified.json()["user"]["is_verified"] is True
    again = await client.post("/api/auth/verify", json={"token": token})
    assert again.status_code == 400 and again.json()["error"]["code"] == "bad_request"

    me = (await client.get("/api/me", headers=bearer(body["access_token"]))).json()
    assert me["id"] == body["user"]["id"] and me["email"] == email and me["is_verified"] is True
    assert me["level"] == 1 and me["points"] == 0
    assert {"max_upload_bytes", "conversions_per_day", "retention_seconds", "concurrent_jobs"} <= set(me["limits"])


async def test_anonymous_me_shows_the_smallest_limits(client):
    anonymous = (await client.get("/api/me")).json()
    _, body = await register(client)
    signed_in = (await client.get("/api/me", headers=bearer(body["access_token"]))).json()
    assert anonymous["anonymous"] is True and anonymous["id"] is None
    assert anonymous["limits"]["max_upload_bytes"] < signed_in["limits"]["max_upload_bytes"]
    assert anonymous["limits"]["retention_seconds"] < signed_in["limits"]["retention_seconds"]


async def test_registering_a_known_address_looks_the_same_and_mails_the_owner(client, smtp):
    email, first = await register(client)
    response = await client.post("/api/auth/register", json={"email": email, "password": "another password"})
    assert response.status_code == 201
    assert set(response.json()) == set(first) and set(response.json()["user"]) == set(first["user"])
    assert (await client.get("/api/me", headers=bearer(response.json()["access_token"]))).status_code == 401
    assert (await client.post("/api/auth/refresh",
                              json={"refresh_token": response.json()["refresh_token"]})).status_code == 401
    await smtp.wait_for(email, "tried to register")


async def test_login_answers_unknown_and_known_addresses_alike(client):
    email, _ = await register(client)
    ok = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert ok.status_code == 200 and ok.json()["user"]["email"] == email

    def attempt(address):
        return client.post("/api/auth/login", json={"email": address, "password": "wrong password!"})
    timings = {"known": [], "unknown": []}
    bodies = set()
    for _ in range(5):  # the account's throttle allows five failures
        for kind, address in (("known", email), ("unknown", new_email())):
            started = time.perf_counter()
            response = await attempt(address)
            timings[kind].append(time.perf_counter() - started)
            assert response.status_code == 401
            bodies.add(response.text)
    assert len(bodies) == 1  # byte-identical answers
    known, unknown = statistics.median(timings["known"]), statistics.median(timings["unknown"])
    assert 0.4 < known / unknown < 2.5, timings  # both run argon2 (on a busy machine: a loose bound)


async def test_login_throttling_answers_429_with_retry_after(client):
    email, _ = await register(client)
    for _ in range(5):
        assert (await client.post("/api/auth/login", json={"email": email, "password": "bad password"})
                ).status_code == 401
    refused = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 900
    unknown = new_email()
    for _ in range(5):
        await client.post("/api/auth/login", json={"email": unknown, "password": "bad password"})
    assert (await client.post("/api/auth/login", json={"email": unknown, "password": "x" * 10})).status_code == 429


async def test_refresh_rotates_and_reuse_revokes_the_family(client):
    _, body = await register(client)
    first = body["refresh_token"]
    rotated = await client.post("/api/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first and rotated.json()["access_token"]

    reused = await client.post("/api/auth/refresh", json={"refresh_token": first})
    assert reused.status_code == 401
    assert (await client.post("/api/auth/refresh", json={"refresh_token": second})).status_code == 401


async def test_logout_revokes_refresh_and_access_tokens(client):
    _, body = await register(client)
    headers = bearer(body["access_token"])
    assert (await client.get("/api/me", headers=headers)).status_code == 200
    out = await client.post("/api/auth/logout", json={"refresh_token": body["refresh_token"]}, headers=headers)
    assert out.status_code == 204
    assert (await client.post("/api/auth/refresh", json={"refresh_token": body["refresh_token"]})).status_code == 401
    assert (await client.get("/api/me", headers=headers)).status_code == 401


def old_access_token(user_id: str) -> str:
    issued = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=30)
    return jwt.encode({"sub": user_id, "iss": "anclora", "aud": "anclora-api", "iat": issued,
                       "exp": issued + dt.timedelta(minutes=15), "jti": uuid.uuid4().hex},
                      TEST_JWT_SECRET, algorithm="HS256")


async def test_password_reset_by_mail(client, smtp):
    email, body = await register(client)
    earlier = old_access_token(body["user"]["id"])
    assert (await client.get("/api/me", headers=bearer(earlier))).status_code == 200

    known = await client.post("/api/auth/password-reset", json={"email": email})
    unknown = await client.post("/api/auth/password-reset", json={"email": new_email()})
    assert known.status_code == unknown.status_code == 202 and known.json() == unknown.json()

    token = token_in(await smtp.wait_for(email, "Reset"))
    weak = await client.post("/api/auth/password-reset/confirm", json={"token": token, "password": "short"})
    assert weak.status_code == 422
    done = await client.post("/api/auth/password-reset/confirm", json={"token": token, "password": "a new password"})
    assert done.status_code == 200
    assert (await client.post("/api/auth/password-reset/confirm",
                              json={"token": token, "password": "third password"})).status_code == 400

    assert (await client.get("/api/me", headers=bearer(earlier))).status_code == 401
    assert (await client.get("/api/me", headers=bearer(body["access_token"]))).status_code == 401
    assert (await client.post("/api/auth/refresh", json={"refresh_token": body["refresh_token"]})).status_code == 401
    assert (await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})).status_code == 401
    assert (await client.post("/api/auth/login", json={"email": email, "password": "a new password"})
            ).status_code == 200


async def test_password_change_ends_other_sign_ins(client):
    email, body = await register(client)
    earlier = old_access_token(body["user"]["id"])
    wrong = await client.post("/api/me/password", headers=bearer(body["access_token"]),
                              json={"current_password": "not it at all", "password": "brand new password"})
    assert wrong.status_code == 401
    changed = await client.post("/api/me/password", headers=bearer(body["access_token"]),
                                json={"current_password": PASSWORD, "password": "brand new password"})
    assert changed.status_code == 200
    assert (await client.get("/api/me", headers=bearer(changed.json()["access_token"]))).status_code == 200
    assert (await client.get("/api/me", headers=bearer(earlier))).status_code == 401
    assert (await client.post("/api/auth/refresh", json={"refresh_token": body["refresh_token"]})).status_code == 401


async def test_password_change_ends_tokens_from_the_same_second(client, anclora_ctx):
    _, body = await register(client)
    changed = await client.post("/api/me/password", headers=bearer(body["access_token"]),
                                json={"current_password": PASSWORD, "password": "brand new password"})
    async with anclora_ctx.sessionmaker() as session:
        changed_at = (await session.get(User, body["user"]["id"])).tokens_valid_after
    same_second_before = changed_at.replace(microsecond=0) - dt.timedelta(microseconds=changed_at.microsecond == 0)
    before = tokens.issue_access(anclora_ctx.settings, body["user"]["id"], now=same_second_before)
    after = tokens.issue_access(anclora_ctx.settings, body["user"]["id"], now=changed_at + dt.timedelta(milliseconds=5))
    assert (await client.get("/api/me", headers=bearer(before))).status_code == 401
    assert (await client.get("/api/me", headers=bearer(after))).status_code == 200
    assert (await client.get("/api/me", headers=bearer(changed.json()["access_token"]))).status_code == 200


async def test_api_keys(client):
    _, alice = await register(client)
    _, bob = await register(client)
    created = await client.post("/api/me/api-keys", headers=bearer(alice["access_token"]), json={"name": "ci"})
    assert created.status_code == 201
    key = created.json()["key"]
    me = await client.get("/api/me", headers={"X-API-Key": key})
    assert me.status_code == 200 and me.json()["id"] == alice["user"]["id"]

    listed = (await client.get("/api/me/api-keys", headers=bearer(alice["access_token"]))).json()["api_keys"]
    assert [k["name"] for k in listed] == ["ci"] and "key" not in listed[0] and key.startswith(listed[0]["prefix"])
    key_id = created.json()["id"]
    assert (await client.delete(f"/api/me/api-keys/{key_id}", headers=bearer(bob["access_token"]))).status_code == 404
    assert (await client.delete(f"/api/me/api-keys/{key_id}", headers=bearer(alice["access_token"]))
            ).status_code == 204
    assert (await client.get("/api/me", headers={"X-API-Key": key})).status_code == 401
    assert (await client.get("/api/me", headers={"X-API-Key": "ak_forged"})).status_code == 401
    assert (await client.get("/api/me/api-keys")).status_code == 401
