"""Limits per plan and level, declared in configuration, and their enforcement at upload and conversion."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import files, policy
from ..counters import DAY, day_keys, seconds_to_midnight
from ..errors import QuotaExceeded, RateLimited

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity

PENDING_SLOT_SECONDS = 60  # a slot not confirmed by a queued conversion lapses (the request was refused later)


def table(ctx: "AppContext") -> dict[str, dict[str, int]]:
    return policy.merged_plans(ctx.settings.plan_limits)


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




async def authorize_upload(ctx: "AppContext", identity: "Identity", starting: bool = True) -> int:
    """Uploads started per minute (in Redis when configured, so every node counts against one limit; in this
    process while Redis is away, so uploads go on); the byte limit. `starting=False` only asks for the limit."""
    limits = limits_for(ctx, identity)
    if not starting:
        return limits["max_upload_bytes"]
    keys = [f"uploads:{identity.owner_key}"] + ([f"uploads:address:{identity.address}"]
                                                 if identity.is_anonymous else [])
    for key in keys:
        count, ttl = await ctx.counters.hit(key, 60, here_when_down=True)
        if count > limits["uploads_per_minute"]:
            ctx.metrics.quota_refusals.labels("uploads_per_minute").inc()
            raise RateLimited(f"More than {limits['uploads_per_minute']} uploads started in one minute; "
                              f"try again in {ttl} s.", headers={"Retry-After": str(ttl)})
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
            await ctx.counters.release(f"jobs:{identity.owner_key}", conversion["id"])
        raise


async def _take_slot(ctx: "AppContext", identity: "Identity", conversion_id: str, limit: int) -> None:
    if not await ctx.counters.reserve(f"jobs:{identity.owner_key}", conversion_id, limit, PENDING_SLOT_SECONDS):
        ctx.metrics.quota_refusals.labels("concurrent_jobs").inc()
        raise QuotaExceeded(f"At most {limit} conversion(s) may run at once.", headers={"Retry-After": "5"},
                            details={"limit": "concurrent_jobs"})


async def _count_today(ctx: "AppContext", identity: "Identity", limit: int, dry_run: bool) -> None:
    for key in day_keys(identity, "conversions"):
        count, _ = await ctx.counters.hit(key, seconds_to_midnight(), amount=0 if dry_run else 1)
        if count > limit or (dry_run and count >= limit):
            ctx.metrics.quota_refusals.labels("conversions_per_day").inc()
            raise QuotaExceeded(f"The {limit} conversions a day of your plan are used up.",
                                headers={"Retry-After": str(seconds_to_midnight())},
                                details={"limit": "conversions_per_day"})


async def hold_slot(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity") -> None:
    """A queued conversion keeps its slot for as long as it may take."""
    longest = ctx.settings.job_timeout * ctx.settings.job_attempts + PENDING_SLOT_SECONDS
    await ctx.counters.reserve(f"jobs:{owner.owner_key}", conversion["id"], 1 << 30, longest)


async def free_slot(ctx: "AppContext", conversion: dict[str, Any], owner: "Identity") -> None:
    await ctx.counters.release(f"jobs:{owner.owner_key}", conversion["id"])


async def usage(ctx: "AppContext", identity: "Identity") -> dict[str, int]:
    counts = [(await ctx.counters.hit(key, DAY, amount=0))[0] for key in day_keys(identity, "conversions")]
    return {"conversions_today": max(counts)}
