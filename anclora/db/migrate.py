"""Alembic, driven from code: upgrade, downgrade, current revision, and the stale-schema check.

Alembic itself is imported only to migrate: the server's startup check reads the revision table and the
migration files directly, which keeps about 11 MB of modules out of every serving process.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(.+)$", re.M)


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    return config


def head() -> str:
    """The newest revision: the one no other migration names as its parent."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text()
        revisions.add(_REVISION.search(source).group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", _DOWN_REVISION.search(source).group(1)))
    [newest] = revisions - parents
    return newest


async def current(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        try:
            return await connection.scalar(text("SELECT version_num FROM alembic_version"))
        except DBAPIError as error:
            if "alembic_version" in str(error.orig):  # no table yet: an empty database
                return None
            raise


async def is_current(engine: AsyncEngine) -> bool:
    return await current(engine) == head()


async def run(engine: AsyncEngine, action: str, revision: str) -> None:
    """Run `upgrade` or `downgrade` to `revision` on an open engine."""
    from alembic import command

    config = alembic_config(str(engine.url))
    async with engine.begin() as connection:
        def go(sync_connection):
            config.attributes["connection"] = sync_connection
            getattr(command, action)(config, revision)
        await connection.run_sync(go)
