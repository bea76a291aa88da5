"""AppContext: the core services every request and job needs, typed and frozen, built once by the server."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    import pluggy
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from .config import Settings
    from .conversion.converter import Converter
    from .conversion.planner import Planner
    from .counters import Counters
    from .jobs.events import Notifier
    from .metrics import Metrics
    from .scanning import Clamd
    from .storage import Storage


class EnginePools:
    """Engine pools (a LibreOffice pool, the warm workers) by name, each registered for the converters that may
    use it: a converter receives only its own pools as `ConversionContext.resources`."""

    def __init__(self) -> None:
        self._pools: dict[str, tuple[Any, frozenset[str] | None]] = {}

    def register(self, name: str, pool: Any, converters: Iterable[str] | None = None) -> None:
        """Offer `pool` to the converters named (None: to every converter)."""
        self._pools[name] = (pool, None if converters is None else frozenset(converters))

    def unregister(self, name: str) -> Any:
        """Take a pool away (at shutdown); the pool, or None if it was not registered."""
        pool, _ = self._pools.pop(name, (None, None))
        return pool

    def for_converter(self, converter_name: str) -> dict[str, Any]:
        return {name: pool for name, (pool, allowed) in self._pools.items()
                if allowed is None or converter_name in allowed}


class RequestGauge:
    """How many requests are running, so a graceful stop can wait for them."""

    def __init__(self) -> None:
        self.count = 0

    def started(self) -> None:
        self.count += 1

    def ended(self) -> None:
        self.count -= 1


@dataclasses.dataclass(frozen=True)
class AppContext:
    settings: "Settings"
    pm: "pluggy.PluginManager"
    engine: "AsyncEngine"
    sessionmaker: "async_sessionmaker[AsyncSession]"
    storage: "Storage"
    metrics: "Metrics"
    counters: "Counters"
    converters: "Mapping[str, Converter]"
    planner: "Planner"
    events: "Notifier"
    redis: "Redis | None" = None
    scanner: "Clamd | None" = None  # clamd, when uploads are scanned
    engine_pools: EnginePools = dataclasses.field(default_factory=EnginePools)
    requests: RequestGauge = dataclasses.field(default_factory=RequestGauge)
    started_at: float = dataclasses.field(default_factory=time.time)
    _states: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict, repr=False)

    def state(self, name: str) -> dict[str, Any]:
        """The private state of one plugin or feature package (`"jobs"`, `"billing"`, `"office"`, ...), made on
        first use and kept for the application's life."""
        return self._states.setdefault(name, {})
