"""Who is calling: a signed-in user (token or API key) or an anonymous session, and from which address."""

from __future__ import annotations

import dataclasses
import hashlib
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
