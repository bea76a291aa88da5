"""Who is calling: a signed-in user (token or API key) or an anonymous session, and from which address."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress
import re
import secrets

SESSION_COOKIE = "anclora_session"
SESSION_HEADER = "X-Anclora-Session"
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


@dataclasses.dataclass(frozen=True)
class Identity:
    address: str
    user_id: str | None = None
    session_id: str | None = None  # sha256 of the anonymous session token; the token itself is never stored
    is_admin: bool = False
    level: int = 0
    plan: str = "anonymous"
    via: str = "session"  # "session" | "token" | "api_key"

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None

    @property
    def owner_key(self) -> str:
        """One string naming the owner, for ownership checks and per-owner keys."""
        return f"user:{self.user_id}" if self.user_id else f"session:{self.session_id}"


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def valid_session_token(token: str | None) -> bool:
    return bool(token) and bool(_TOKEN_SHAPE.match(token))


def session_id_for(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_address(peer: str, headers, trusted_proxies: list[str]) -> str:
    """The client's address: the peer's, unless the peer is a configured proxy, then X-Real-IP or the last
    X-Forwarded-For hop it added."""
    if peer not in trusted_proxies:
        return peer
    candidate = headers.get("X-Real-IP") or headers.get("X-Forwarded-For", "").split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


def _pad(secret: str, context: str, length: int) -> bytes:
    """`length` bytes of keystream for one context (HMAC-SHA256 of the secret in counter mode)."""
    blocks = (hmac.new(secret.encode(), f"anclora-seal:{context}:{counter}".encode(), hashlib.sha256).digest()
              for counter in range((length + 31) // 32))
    return b"".join(blocks)[:length]


def seal_session(token: str, secret: str, context: str) -> str:
    """A session token encrypted for keeping in the database, under the server's secret and a context used for
    nothing else (an upload id): whoever reads the database alone cannot take the session over."""
    data = token.encode()
    return bytes(a ^ b for a, b in zip(data, _pad(secret, context, len(data)))).hex()


def unseal_session(sealed: str, secret: str, context: str) -> str:
    data = bytes.fromhex(sealed)
    return bytes(a ^ b for a, b in zip(data, _pad(secret, context, len(data)))).decode()
