"""AppContext: everything a request or job needs, built once at startup and passed down."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import time
from typing import Any

import pluggy
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from . import db
from .config import Settings
from .conversion.registry import collect_converters
from .metrics import Metrics
from .plugins import make_plugin_manager
from .storage.local import LocalStorage

log = logging.getLogger("anclora")


@dataclasses.dataclass
class AppContext:
    settings: Settings
    pm: pluggy.PluginManager
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    storage: LocalStorage
    metrics: Metrics
    converters: dict[str, Any] = dataclasses.field(default_factory=dict)  # name -> Converter
    redis: Any = None  # redis.asyncio.Redis when REDIS_URL is set
    started_at: float = dataclasses.field(default_factory=time.time)
    in_flight: int = 0
    services: dict[str, Any] = dataclasses.field(default_factory=dict)  # shared services by name (pools, queue)

    async def call_hook(self, name: str, **kwargs: Any) -> list[Any]:
        """Call every implementation of a hook, awaiting the ones that return awaitables."""
        results = []
        for result in getattr(self.pm.hook, name)(**kwargs):
            if inspect.isawaitable(result):
                result = await result
            results.append(result)
        return results

    async def start(self) -> None:
        await self.call_hook("anclora_startup", ctx=self)

    async def close(self) -> None:
        try:
            await self.call_hook("anclora_shutdown", ctx=self)
        finally:
            if self.redis is not None:
                await self.redis.aclose()
            await self.engine.dispose()


def build_context(settings: Settings) -> AppContext:
    engine = db.create_engine(settings.database_url, statement_timeout_ms=settings.db_statement_timeout)
    redis = None
    if settings.redis_url:
        import redis.asyncio as aioredis

        redis = aioredis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    pm = make_plugin_manager(settings)
    return AppContext(
        settings=settings,
        pm=pm,
        converters=collect_converters(pm),
        engine=engine,
        sessionmaker=db.create_sessionmaker(engine),
        storage=LocalStorage(settings.upload_folder),
        metrics=Metrics(),
        redis=redis,
    )
