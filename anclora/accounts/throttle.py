"""Throttling of login, registration and reset requests, per account and per client address."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import RateLimited

if TYPE_CHECKING:
    from ..context import AppContext

LOGIN_WINDOW = 15 * 60
HOUR = 3600
REGISTRATIONS_PER_ADDRESS = 20
RESETS_PER_ADDRESS = 20
RESET_MAILS_PER_ACCOUNT = 3
ACTIONS = {"register": "registrations", "reset": "password reset requests"}  # what `per_address` counts


def _refuse(retry_after: int, message: str) -> RateLimited:
    return RateLimited(message, headers={"Retry-After": str(max(1, retry_after))},
                       details={"retry_after": max(1, retry_after)})


async def check_login(ctx: "AppContext", email: str, address: str) -> None:
    """Refuse a login attempt when the account or the address has failed too often lately."""
    store = ctx.counters
    for key, limit, whose in ((f"login:account:{email}", ctx.settings.login_attempts, "for this account"),
                              (f"login:address:{address}", ctx.settings.login_attempts_per_address,
                               "from your address")):
        count, ttl = await store.hit(key, LOGIN_WINDOW, amount=0)
        if count >= limit:
            raise _refuse(ttl, f"{count} failed logins {whose} within {LOGIN_WINDOW // 60} minutes; "
                               "try again later.")


async def login_failed(ctx: "AppContext", email: str, address: str) -> None:
    store = ctx.counters
    await store.hit(f"login:account:{email}", LOGIN_WINDOW)
    await store.hit(f"login:address:{address}", LOGIN_WINDOW)


async def login_succeeded(ctx: "AppContext", email: str) -> None:
    await ctx.counters.reset(f"login:account:{email}")


async def per_address(ctx: "AppContext", action: str, address: str, limit: int) -> None:
    """Count one `action` from `address`; 429 past `limit` an hour (registrations, reset requests)."""
    count, ttl = await ctx.counters.hit(f"{action}:address:{address}", HOUR)
    if count > limit:
        raise _refuse(ttl, f"More than {limit} {ACTIONS.get(action, action)} from your address within an hour; "
                           "try again later.")


async def reset_mail_allowed(ctx: "AppContext", email: str) -> bool:
    """Reset mails per account are capped quietly: the answer stays the same, the inbox is not flooded."""
    count, _ = await ctx.counters.hit(f"reset:account:{email}", HOUR)
    return count <= RESET_MAILS_PER_ACCOUNT
