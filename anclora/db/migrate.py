"""Alembic, driven from code: upgrade, downgrade, current revision, and the stale-schema check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    return config


def head() -> str:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


async def current(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def is_current(engine: AsyncEngine) -> bool:
    return await current(engine) == head()


async def run(engine: AsyncEngine, action: str, revision: str) -> None:
    """Run `upgrade` or `downgrade` to `revision` on an open engine."""
    config = alembic_config(str(engine.url))
    async with engine.begin() as connection:
        def go(sync_connection):
            config.attributes["connection"] = sync_connection
            getattr(command, action)(config, revision)
        await connection.run_sync(go)
