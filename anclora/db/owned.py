"""Reading a caller's own row: the same NotFound whether the row is someone else's or does not exist."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select

from ..errors import NotFound
from .base import Owned, utcnow

if TYPE_CHECKING:
    from ..context import AppContext
    from ..identity import Identity

Row = TypeVar("Row", bound=Owned)


async def get_owned(ctx: "AppContext", model: type[Row], identity: "Identity", row_id: str) -> Row:
    """The caller's row of `model` with this id (unexpired, for rows that expire), or NotFound."""
    condition = (model.id == row_id) & model.owned_by(identity)
    if "expires_at" in model.__table__.c:
        condition &= model.expires_at > utcnow()
    async with ctx.sessionmaker() as session:
        row = await session.scalar(select(model).where(condition))
    if row is None:
        raise NotFound(f"No such {model.noun}.")
    return row
