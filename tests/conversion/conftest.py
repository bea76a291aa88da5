"""Fixtures the conversion tests share."""

import pytest_asyncio

from anclora.engines.office_pool import OfficePool


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool():
    """A warm LibreOffice pool of two for the module's office conversions."""
    async with OfficePool(size=2) as pool:
        await pool.start()
        yield pool
