"""Tokens: short-lived access JWTs (HS256 only) and opaque secrets stored as hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

from ..config import Settings
from ..errors import ConfigError, Unauthorized

ALGORITHM = "HS256"  # exactly one: no `none`, no RS/HS confusion
ISSUER = "anclora"
AUDIENCE = "anclora-api"
ACCESS_TTL = dt.timedelta(minutes=15)
REFRESH_TTL = dt.timedelta(days=30)
MIN_SECRET_BYTES = 32
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]


def signing_key(settings: Settings) -> bytes:
    """The JWT secret; a missing or short one is a configuration error, not a weak token."""
    key = settings.jwt_secret_key.encode()
    if len(key) < MIN_SECRET_BYTES:
        raise ConfigError(f"JWT_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes long (it is {len(key)}).")
    return key


def issue_access(settings: Settings, user_id: str, now: dt.datetime | None = None) -> str:
    import jwt  # PyJWT loads `cryptography` (10 MiB): only processes that handle tokens pay for it

    now = now or dt.datetime.now(dt.timezone.utc)
    # `iat` to the microsecond (NumericDate allows fractions): a password change ends the tokens issued in the
    # same second before it, and not those issued just after it
    claims = {"sub": user_id, "iss": ISSUER, "aud": AUDIENCE, "iat": now.timestamp(), "exp": now + ACCESS_TTL,
              "jti": uuid.uuid4().hex}
    return jwt.encode(claims, signing_key(settings), algorithm=ALGORITHM)


def decode_access(settings: Settings, token: str) -> dict:
    """The claims of a valid access token; Unauthorized for anything else (never says why to the client)."""
    import jwt

    try:
        return jwt.decode(token, signing_key(settings), algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                          options={"require": REQUIRED_CLAIMS}, leeway=5)
    except jwt.PyJWTError:
        raise Unauthorized("The access token is invalid or expired.") from None


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """How opaque secrets are stored: their sha256 (they carry 256 random bits, so no salt or stretching)."""
    return hashlib.sha256(secret.encode()).hexdigest()
