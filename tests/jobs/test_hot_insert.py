"""A cache hit's INSERT (`store.insert_one`; on SQLite run on the driver's thread by `db.direct`) writes the row
as SQLAlchemy would, commits it, and fails as SQLAlchemy fails."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from anclora.db.base import new_id, utcnow
from anclora.db.models import Conversion
from anclora.jobs import store


def succeeded(**values) -> Conversion:
    now = utcnow()
    columns = {"id": new_id(), "session_id": "s" * 64, "owner_key": "session:" + "s" * 64, "from_format": "png",
               "to_format": "jpeg", "converter": "images", "via": [], "options": {"quality": 70},
               "status": store.SUCCEEDED, "progress": 100, "cached": True, "cache_key": "k" * 64, "cost": 0,
               "created_at": now, "started_at": now, "finished_at": now}
    return Conversion(**{**columns, **values})


async def test_the_row_reads_back_as_written_with_the_columns_defaults(anclora_ctx):
    row = succeeded(via=["pdf"])
    async with anclora_ctx.engine.connect() as connection:
        await store.insert_one(connection, row)
    async with anclora_ctx.sessionmaker() as session:
        back = await session.get(Conversion, row.id)
    assert (back.options, back.via, back.cached, back.status, back.attempts, back.queue_turn, back.file_id) == (
        {"quality": 70}, ["pdf"], True, store.SUCCEEDED, 0, 0.0, None)
    assert (back.created_at, back.finished_at) == (row.created_at, row.finished_at)
    assert back.finished_at.tzinfo is not None


async def test_a_refused_insert_raises_sqlalchemys_error_and_the_connection_goes_on(anclora_ctx):
    first = succeeded()
    async with anclora_ctx.engine.connect() as connection:
        await store.insert_one(connection, first)
        with pytest.raises(IntegrityError):
            await store.insert_one(connection, succeeded(id=first.id, converter="other"))
        await store.insert_one(connection, succeeded(converter="second"))
    async with anclora_ctx.sessionmaker() as session:
        rows = dict((await session.execute(select(Conversion.converter, func.count()).group_by(
            Conversion.converter))).all())
    assert rows == {"images": 1, "second": 1}
