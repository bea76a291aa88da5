"""/api/health and /api/metrics."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text

from .. import accounts
from ..conversion.registry import engine_status
from ..metrics import CONTENT_TYPE
from ..version import __version__
from ..openapi import STRING, Body, obj, operation
from .base import APIHandler

_STATUS = {"enum": ["up", "degraded", "down"]}
HEALTH = obj({"status": _STATUS, "version": STRING, "checks": {
    "type": "object", "additionalProperties": {"type": "object"}}}, required=("status", "version", "checks"),
    closed=False)

CHECK_TIMEOUT = 3.0
REPORT_TTL = 1.0


async def _check(probe) -> dict:
    try:
        result = await asyncio.wait_for(probe(), CHECK_TIMEOUT)
        return {"status": "up", **(result or {})}
    except Exception as error:  # a failed check is reported, never raised
        return {"status": "down", "error": f"{type(error).__name__}: {error}"[:300]}


async def collect(ctx) -> dict:
    async def database():
        async with ctx.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return {"backend": ctx.engine.dialect.name}

    async def storage():
        await asyncio.get_running_loop().run_in_executor(None, ctx.storage.check)
        free, reserve = ctx.storage.free_bytes(), ctx.settings.storage_min_free_bytes
        return {"backend": "local", "free_bytes": free, "min_free_bytes": reserve,
                **({"status": "degraded"} if free < reserve else {})}

    async def cache():
        await ctx.redis.ping()
        return {"backend": "redis"}

    checks = {"database": await _check(database), "storage": await _check(storage)}
    checks["cache"] = await _check(cache) if ctx.redis is not None else {"status": "up", "backend": "memory"}
    checks["engines"] = engine_status(ctx.converters)
    if ctx.scanner is not None:
        checks["scanner"] = {**await _check(ctx.scanner.health), "fail_open": ctx.settings.clamd_fail_open}
    scanner_down = checks.get("scanner", {}).get("status") == "down"
    if checks["database"]["status"] == "down" or checks["storage"]["status"] == "down":
        status = "down"
    elif scanner_down or checks["cache"]["status"] == "down" or checks["storage"]["status"] == "degraded" or any(
            engine["status"] != "up" for engine in checks["engines"].values()):
        status = "degraded"
    else:
        status = "up"
    return {"status": status, "version": __version__, "checks": checks}


def without_details(report: dict) -> dict:
    """The report with each failed check's error text replaced by a word."""
    checks = {name: {**check, "error": "unreachable"} if "error" in check else check
              for name, check in report["checks"].items()}
    return {**report, "checks": checks}


async def shared_report(ctx) -> dict:
    """One check at a time, its answer shared for a second: load balancers and monitors polling hard cost one
    database round trip per second, not one per request."""
    now = time.monotonic()
    state = ctx.state("health")
    cached = state.get("report")
    if cached is None or now - cached[0] >= REPORT_TTL:
        cached = state["report"] = (now, asyncio.ensure_future(collect(ctx)))
    return await asyncio.shield(cached[1])


class HealthHandler(APIHandler):
    quiet_access_log = True  # monitors poll it; a line per successful probe drowns the log
    access = "public"

    async def prepare(self) -> None:
        pass  # no identity, no session cookie: load balancers call this

    @operation({200: HEALTH, 503: {**HEALTH, "description": "The database or storage is down."}})
    async def get(self) -> None:
        """Health of the database, cache, storage, engines and malware scanner (when set); 503 when the database
        or storage is down, `degraded` when the cache, an engine or the scanner is, or storage is below
        `storage_min_free_bytes`. Why a check failed is shown to administrators only (drivers name hosts and
        databases)."""
        report = await shared_report(self.ctx)
        if not await self._from_admin():
            report = without_details(report)
        if report["status"] == "down":
            self.set_header("Retry-After", "5")
        self.write_json(report, 503 if report["status"] == "down" else 200)

    async def _from_admin(self) -> bool:
        if not (self.request.headers.get("Authorization") or self.request.headers.get("X-API-Key")):
            return False
        try:
            identity = await accounts.authenticate(self.ctx, self.request.headers, self.client_address)
        except Exception:  # (a bad credential, or the database it needs is down: a stranger either way)
            return False
        return identity is not None and identity.is_admin

    @operation({200: None, 503: None})
    async def head(self) -> None:
        """The health status code without a body."""
        await self.get()

    def write_json(self, data, status: int = 200) -> None:
        if self.request.method == "HEAD":
            self.set_status(status)
            self.finish()
        else:
            super().write_json(data, status)


class MetricsHandler(APIHandler):
    quiet_access_log = True
    access = "public"

    async def prepare(self) -> None:
        pass

    @operation({200: Body("text/plain", STRING, "Prometheus' text format.")})
    async def get(self) -> None:
        """Prometheus metrics."""
        self.set_header("Content-Type", CONTENT_TYPE)
        self.finish(self.ctx.metrics.render())


default_handlers = [
    (r"/api/health", HealthHandler),
    (r"/api/metrics", MetricsHandler),
]
