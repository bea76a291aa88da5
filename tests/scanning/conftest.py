"""A clamd for the session (on its socket and on a loopback TCP port), and what an upload left behind."""

from __future__ import annotations

import pytest
from clamd_process import ClamdProcess
from scan_helpers import UPLOAD_LIMIT
from sqlalchemy import func, select

from anclora.db.models import File, ResumableUpload


@pytest.fixture(scope="session")
def clamd(tmp_path_factory):
    process = ClamdProcess(tmp_path_factory.mktemp("clamd"), stream_max=UPLOAD_LIMIT, tcp=True).start()
    yield process
    process.stop()


@pytest.fixture
def stored(anclora_ctx):
    """`await stored()` -> the file rows, tus uploads, stored objects and tus parts there are (through the
    database and the storage contract)."""
    async def count() -> dict:
        async with anclora_ctx.sessionmaker() as session:
            files = await session.scalar(select(func.count()).select_from(File))
            uploads = await session.scalar(select(func.count()).select_from(ResumableUpload))
        return {"files": files, "uploads": uploads, "objects": sorted(await anclora_ctx.storage.inventory()),
                "parts": [name for name, _ in await anclora_ctx.storage.parts()]}
    return count
