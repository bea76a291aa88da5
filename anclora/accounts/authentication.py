"""Who a request's bearer token or API key belongs to. Part of the server, not of the `accounts` plugin: every
route needs to know who owns what, so authentication works with that plugin blocked too."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..db.models import User
from ..errors import Unauthorized
from ..identity import Identity
from . import apikeys, tokens

if TYPE_CHECKING:
    from ..context import AppContext


async def authenticate(ctx: "AppContext", headers, address: str) -> Identity | None:
    """The identity proven by `Authorization: Bearer` or `X-API-Key`; None when neither is sent.
    Raises Unauthorized for a credential that does not check out."""
    authorization, api_key = headers.get("Authorization"), headers.get("X-API-Key")
    if not authorization and not api_key:
        return None
    if authorization:
        user, via = await _bearer_user(ctx, authorization), "token"
    else:
        user, via = await apikeys.owner(ctx, api_key), "api_key"
    if user is None:
        raise Unauthorized("Invalid credentials.")
    return Identity(address=address, user_id=user.id, is_admin=user.is_admin, level=user.level, plan=user.plan,
                    via=via)


async def _bearer_user(ctx: "AppContext", authorization: str) -> User | None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use `Authorization: Bearer <access token>`.")
    claims = tokens.decode_access(ctx.settings, token.strip())
    if await ctx.counters.flagged(f"revoked:{claims['jti']}"):
        return None
    async with ctx.sessionmaker() as session:
        user = await session.get(User, str(claims["sub"]))
    if user is None or not user.is_active or _issued_before(claims, user.tokens_valid_after):
        return None
    return user


def _issued_before(claims: dict, valid_after: dt.datetime | None) -> bool:
    return valid_after is not None and float(claims["iat"]) < valid_after.timestamp()
