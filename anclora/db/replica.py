"""The PostgreSQL streaming replica the read-only listings may use: its engine, and how far it lags."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import make_url

from . import create_engine

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

# Caught up (everything received is replayed) is no lag, however long ago the primary last wrote; otherwise the
# age of the last transaction replayed. NULL: not a replica at all.
_LAG = text("SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL"
            " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
            " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END")


def create_replica_engine(url: str, *, statement_timeout_ms: int) -> "AsyncEngine":
    if make_url(url).get_backend_name() not in ("postgresql", "postgres"):
        raise ValueError("database_replica_url must name a PostgreSQL streaming replica (postgresql://...)")
    return create_engine(url, statement_timeout_ms=statement_timeout_ms)


async def lag(engine: "AsyncEngine", max_lag: float) -> dict:
    """The replica's lag in seconds, `degraded` past `max_lag`; raises when the server is not a replica."""
    async with engine.connect() as connection:
        seconds = (await connection.execute(_LAG)).scalar()
    if seconds is None:
        raise ValueError("the server at database_replica_url is not in recovery: not a replica")
    seconds = round(float(seconds), 3)
    return {"lag_seconds": seconds, "max_lag_seconds": max_lag, **({"status": "degraded"} if seconds > max_lag else {})}
