"""Limits per plan and level, declared in configuration, and their enforcement at upload and conversion."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from .. import files
from ..errors import QuotaExceeded, RateLimited
from .counters import counters

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity

MB = 1024 * 1024
DAY = 86400
DEFAULT_LIMITS: dict[str, dict[str, int]] = {
    "anonymous": {"max_upload_bytes": 20 * MB, "conversions_per_day": 10, "free_conversions_per_day": 10,
                  "concurrent_jobs": 1, "uploads_per_minute": 10, "queue_weight": 1},
    "free": {"max_upload_bytes": 100 * MB, "conversions_per_day": 100, "free_conversions_per_day": 5,
             "concurrent_jobs": 2, "uploads_per_minute": 30, "queue_weight": 1},
    "level_2": {"max_upload_bytes": 200 * MB, "free_conversions_per_day": 10},
    "level_3": {"free_conversions_per_day": 20, "concurrent_jobs": 3},
    "level_4": {"max_upload_bytes": 300 * MB, "free_conversions_per_day": 40},
    "level_5": {"free_conversions_per_day": 80, "concurrent_jobs": 4},
    "paid": {"max_upload_bytes": 500 * MB, "conversions_per_day": 1000, "free_conversions_per_day": 20,
             "concurrent_jobs": 4, "uploads_per_minute": 60, "retention_seconds": 7 * DAY,
             "queue_weight": 2},
}
PENDING_SLOT_SECONDS = 60  # a slot not confirmed by a queued conversion lapses (the request was refused later)


def table(ctx: "AppContext") -> dict[str, dict[str, int]]:
    configured = ctx.settings.plan_limits or {}
    return {name: {**DEFAULT_LIMITS.get(name, {}), **configured.get(name, {})}
            for name in {*DEFAULT_LIMITS, *configured}}


def limits_for(ctx: "AppContext", identity: "Identity") -> dict[str, int]:
    """The caller's limits: anonymous; or free, raised by each level reached, then the plan's own."""
    plans = table(ctx)
    if identity.is_anonymous:
        limits = dict(plans["anonymous"])
    else:
        limits = dict(plans["free"])
        for level in range(2, identity.level + 1):
            limits.update(plans.get(f"level_{level}", {}))
        if identity.plan != "free":
            limits.update(plans.get(identity.plan, {}))
    limits["max_upload_bytes"] = min(limits["max_upload_bytes"], ctx.settings.max_content_length)
    limits.setdefault("retention_seconds", files.default_retention(ctx, identity))
    return limits


def seconds_to_midnight() -> int:
    now = time.time()
    return max(1, int(DAY - now % DAY))


def day_keys(identity: "Identity", what: str) -> list[str]:
    """Today's counter keys: a user's; for anonymous callers the session's AND the address's, so dropping the
    session cookie does not reset the count."""
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    if not identity.is_anonymous:
        return [f"{what}:{today}:user:{identity.user_id}"]
    return [f"{what}:{today}:session:{identity.session_id}", f"{what}:{today}:address:{identity.address}"]


def authorize_upload(ctx: "AppContext", identity: "Identity") -> int:
    """Uploads started per minute (counted in this process: the hook may not wait on Redis); the byte limit."""
    limits = limits_for(ctx, identity)
    keys = [f"uploads:{identity.owner_key}"] + ([f"uploads:address:{identity.address}"]
                                                 if identity.is_anonymous else [])
    for key in keys:
        count, ttl = counters(ctx).hit_local(key, 60)
        if count > limits["uploads_per_minute"]:
            ctx.metrics.quota_refusals.labels("uploads_per_minute").inc()
            raise RateLimited("Too many uploads at once; slow down.", headers={"Retry-After": str(ttl)})
    return limits["max_upload_bytes"]


async def authorize_conversion(ctx: "AppContext", identity: "Identity", conversion: dict[str, Any]) -> None:
    """Concurrent jobs, then conversions per day; a dry run only reads the daily counters."""
    limits = limits_for(ctx, identity)
    dry_run = bool(conversion.get("dry_run"))
    if not dry_run:
        await _take_slot(ctx, identity, conversion["id"], limits["concurrent_jobs"])
    try:
        await _count_today(ctx, identity, limits["conversions_per_day"], dry_run)
    except QuotaExceeded:
        if not dry_run:
            await counters(ctx).release(f"jobs:{identity.owner_key}", conversion["id"])
        raise


async def _take_slot(ctx: "AppContext", identity: "Identity", conversion_id: str, limit: int) -> None:
    if not await counters(ctx).reserve(f"jobs:{identity.owner_key}", conversion_id, limit, PENDING_SLOT_SECONDS):
        ctx.metrics.quota_refusals.labels("concurrent_jobs").inc()
        raise QuotaExceeded(f"At most {limit} conversion(s) may run at once.", headers={"Retry-After": "5"},
                            details={"limit": "concurrent_jobs"})


async def _count_today(ctx: "AppContext", identity: "Identity", limit: int, dry_run: bool) -> None:
    for key in day_keys(identity, "conversions"):
        count, _ = await counters(ctx).hit(key, seconds_to_midnight(), amount=0 if dry_run else 1)
        if count > limit or (dry_run and count >= limit):
            ctx.metrics.quota_refusals.labels("conversions_per_day").inc()
            raise QuotaExceeded(f"The {limit} conversions a day of your plan are used up.",
                                headers={"Retry-After": str(seconds_to_midnight())},
                                details={"limit": "conversions_per_day"})


async def hold_slot(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity") -> None:
    """A queued conversion keeps its slot for as long as it may take."""
    longest = ctx.settings.job_timeout * ctx.settings.job_attempts + PENDING_SLOT_SECONDS
    await counters(ctx).reserve(f"jobs:{owner.owner_key}", conversion["id"], 1 << 30, longest)


async def free_slot(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity") -> None:
    await counters(ctx).release(f"jobs:{owner.owner_key}", conversion["id"])


async def usage(ctx: "AppContext", identity: "Identity") -> dict[str, int]:
    counts = [(await counters(ctx).hit(key, DAY, amount=0))[0] for key in day_keys(identity, "conversions")]
    return {"conversions_today": max(counts)}
