"""Atomic counters for limits: Redis when configured (shared by every process), else in-process.

Policy when Redis is configured but unreachable: counters fail closed with 503 `service_unavailable`, because
they guard money (free allowances, daily quotas) and brute force (login throttling). Nothing is let through
uncounted. The one exception is asked for by its caller: uploads per minute are counted in each process meanwhile
(uploads go on, still bounded, per node).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING

from .errors import ServiceUnavailable

if TYPE_CHECKING:
    from .identity import Identity

log = logging.getLogger("anclora.limits")
DAY = 86400

# KEYS[1] counter, ARGV[1] window seconds -> {count, ttl}; the window starts at the first hit.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""
# KEYS[1] sorted set of member -> expiry; ARGV now, member, limit, expiry -> 1 reserved, 0 full
_RESERVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
redis.call('EXPIRE', KEYS[1], math.ceil(ARGV[4] - ARGV[1]) + 1)
return 1
"""


class Counters:
    """`hit` counts events in a window; `reserve`/`release` hold a bounded set of slots (concurrent jobs)."""

    def __init__(self, redis=None, prefix: str = "anclora:limits:"):
        self.redis = redis
        self.prefix = prefix
        self._counts: dict[str, tuple[int, float]] = {}
        self._slots: dict[str, dict[str, float]] = {}

    async def hit(self, key: str, window: int, amount: int = 1, *, here_when_down: bool = False) -> tuple[int, int]:
        """Add `amount` (1, or 0 to only read) to the counter; return (count, seconds until it resets).
        `here_when_down`: while Redis is unreachable, count in this process instead of failing closed."""
        if self.redis is None:
            return self._hit_here(key, window, amount)
        try:
            return await self._hit_redis(key, window, amount)
        except ServiceUnavailable:
            if not here_when_down:
                raise
            return self._hit_here(key, window, amount)

    async def _hit_redis(self, key: str, window: int, amount: int) -> tuple[int, int]:
        async with _guard():
            if amount == 0:
                count, ttl = await self.redis.get(self.prefix + key), await self.redis.ttl(self.prefix + key)
                return int(count or 0), max(int(ttl), 0) if count else window
            count, ttl = await self.redis.eval(_HIT, 1, self.prefix + key, window)
            return int(count), int(ttl)

    def _hit_here(self, key: str, window: int, amount: int) -> tuple[int, int]:
        now = time.monotonic()
        count, resets = self._counts.get(key, (0, now + window))
        if resets <= now:
            count, resets = 0, now + window
        count += amount
        if amount:
            self._counts[key] = (count, resets)
        return count, max(1, int(resets - now + 0.999))

    async def reset(self, key: str) -> None:
        if self.redis is None:
            self._counts.pop(key, None)
            return
        async with _guard():
            await self.redis.delete(self.prefix + key)

    async def reserve(self, key: str, member: str, limit: int, ttl: float) -> bool:
        """Take a slot for `member` if fewer than `limit` are held; slots lapse after `ttl` seconds."""
        now = time.time()
        if self.redis is None:
            slots = {m: exp for m, exp in self._slots.get(key, {}).items() if exp > now}
            self._slots[key] = slots
            if member not in slots and len(slots) >= limit:
                return False
            slots[member] = now + ttl
            return True
        async with _guard():
            return bool(await self.redis.eval(_RESERVE, 1, self.prefix + key, now, member, limit, now + ttl))

    async def release(self, key: str, member: str) -> None:
        if self.redis is None:
            self._slots.get(key, {}).pop(member, None)
            return
        async with _guard():
            await self.redis.zrem(self.prefix + key, member)

    async def flag(self, key: str, ttl: int) -> None:
        """Remember `key` for `ttl` seconds (e.g. a revoked token id)."""
        await self.hit(key, max(1, ttl))

    async def flagged(self, key: str) -> bool:
        count, _ = await self.hit(key, 1, amount=0)
        return count > 0


class _guard:
    """Turn a Redis outage into 503 (fail closed)."""

    async def __aenter__(self):
        return self

    async def __aexit__(self, kind, error, tb):
        from redis.exceptions import RedisError

        if isinstance(error, (RedisError, OSError)):
            log.warning("limit counters unavailable (failing closed): %s", error)
            raise ServiceUnavailable("Limits cannot be checked right now; try again shortly.",
                                     headers={"Retry-After": "5"}) from error
        return False

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
