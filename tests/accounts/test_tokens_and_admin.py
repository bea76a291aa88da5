"""Access tokens accept exactly one algorithm and every required claim; a short secret refuses to start;
`anclora users create-admin` makes an administrator."""

import datetime as dt
import os
import socket
import subprocess
import sys
import uuid
import warnings

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from anclora.server import build_context, close, start
from anclora.errors import ConfigError
from anclora.testing import TEST_JWT_SECRET


async def signed_up(client) -> dict:
    email = f"tok-{uuid.uuid4().hex[:10]}@example.org"
    response = await client.post("/api/auth/register", json={"email": email, "password": "long enough password"})
    assert response.status_code == 201
    return response.json()


def claims(user_id: str, **changes) -> dict:
    now = dt.datetime.now(dt.timezone.utc)
    base = {"sub": user_id, "iss": "anclora", "aud": "anclora-api", "iat": now,
            "exp": now + dt.timedelta(minutes=5), "jti": uuid.uuid4().hex}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def unsigned(payload: dict) -> str:
    return jwt.encode(payload, None, algorithm="none")


def hs512(payload: dict) -> str:
    """The server's own secret under another HMAC algorithm (PyJWT warns that it is short for SHA-512)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(payload, TEST_JWT_SECRET, algorithm="HS512")


async def test_forged_and_incomplete_tokens_are_refused(client):
    user_id = (await signed_up(client))["user"]["id"]
    good = jwt.encode(claims(user_id), TEST_JWT_SECRET, algorithm="HS256")
    assert (await client.get("/api/me", headers={"Authorization": f"Bearer {good}"})).status_code == 200

    forged = {
        "alg none": unsigned(claims(user_id)),
        "HS512": hs512(claims(user_id)),
        "RS256": jwt.encode(claims(user_id), rsa_pem(), algorithm="RS256"),
        "other secret": jwt.encode(claims(user_id), "another-secret-" + "y" * 40, algorithm="HS256"),
        "no exp": jwt.encode(claims(user_id, exp=None), TEST_JWT_SECRET, algorithm="HS256"),
        "no jti": jwt.encode(claims(user_id, jti=None), TEST_JWT_SECRET, algorithm="HS256"),
        "no iat": jwt.encode(claims(user_id, iat=None), TEST_JWT_SECRET, algorithm="HS256"),
        "wrong audience": jwt.encode(claims(user_id, aud="elsewhere"), TEST_JWT_SECRET, algorithm="HS256"),
        "wrong issuer": jwt.encode(claims(user_id, iss="elsewhere"), TEST_JWT_SECRET, algorithm="HS256"),
        "expired": jwt.encode(claims(user_id, exp=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)),
                              TEST_JWT_SECRET, algorithm="HS256"),
        "unknown user": jwt.encode(claims(str(uuid.uuid4())), TEST_JWT_SECRET, algorithm="HS256"),
    }
    for name, token in forged.items():
        response = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.json()["error"]["code"] == "unauthorized"
    basic = await client.get("/api/me", headers={"Authorization": f"Basic {good}"})
    assert basic.status_code == 401


def test_issued_tokens_name_one_algorithm_and_all_claims():
    from anclora import config
    from anclora.accounts import tokens

    settings = config.load(environ={}, overrides={"jwt_secret_key": TEST_JWT_SECRET}, dotenv=None)
    token = tokens.issue_access(settings, "someone")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert set(jwt.decode(token, options={"verify_signature": False})) == {"sub", "iss", "aud", "iat", "exp", "jti"}


async def test_a_short_secret_refuses_to_start(anclora_settings):
    ctx = build_context(anclora_settings.replace(jwt_secret_key="x" * 31))
    try:
        with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
            await start(ctx)
    finally:
        await close(ctx)


def test_serve_exits_with_a_configuration_error_for_a_short_secret(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "JWT_SECRET_KEY": "short", "DATABASE_URL": f"sqlite:///{tmp_path}/a.db",
           "UPLOAD_FOLDER": str(tmp_path / "up"), "ANCLORA_PORT": str(port)}
    done = subprocess.run([sys.executable, "-m", "anclora", "serve", "--migrate"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "JWT_SECRET_KEY" in done.stderr


async def test_create_admin_command(anclora_settings, client, tmp_path):
    env = {**os.environ, "DATABASE_URL": anclora_settings.database_url, "JWT_SECRET_KEY": TEST_JWT_SECRET,
           "UPLOAD_FOLDER": str(tmp_path / "up"), "REDIS_URL": anclora_settings.redis_url}
    command = [sys.executable, "-m", "anclora", "users", "create-admin", "root@example.org", "--password-stdin"]
    done = subprocess.run(command, input="admin password 1\n", env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    login = await client.post("/api/auth/login", json={"email": "root@example.org", "password": "admin password 1"})
    assert login.status_code == 200 and login.json()["user"]["is_admin"] is True


async def test_create_admin_promotes_an_account_and_ends_its_sign_ins(client, anclora_ctx):
    from anclora.accounts.service import create_admin
    from anclora.errors import ValidationFailed

    body = await signed_up(client)
    with pytest.raises(ValidationFailed):
        await create_admin(anclora_ctx, body["user"]["email"], "short")
    await create_admin(anclora_ctx, body["user"]["email"], "the admin password")
    assert (await client.post("/api/auth/refresh", json={"refresh_token": body["refresh_token"]})).status_code == 401
    login = await client.post("/api/auth/login", json={"email": body["user"]["email"],
                                                       "password": "the admin password"})
    assert login.status_code == 200 and login.json()["user"]["is_admin"] is True
