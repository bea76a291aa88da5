"""The order queued conversions are claimed in: a weighted fair share across owners (start-time fair queuing).

Every conversion gets a turn, a number, when it is queued: one step (1 / the owner's weight) after the owner's
latest turn still waiting or running, but never before the turn being served now (the highest turn running; with
nothing running, the lowest waiting). Conversions are claimed lowest turn first, then oldest first. So a tenant
that queues 50 conversions takes turns 0, 1, 2... and another that queues one afterwards gets the turn being
served: it runs next. An owner of weight 2 steps by 0.5 and gets two turns for each one of weight 1; an owner that
was idle starts at the current turn (idleness earns no credit). Turns live in the rows, so workers on any number
of nodes agree on the order without shared memory, and a re-queued conversion keeps its place.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from ..db.models import Conversion

RUNNING, QUEUED = "running", "queued"
ACTIVE = (QUEUED, RUNNING)


# The other rows, not correlated with the row being updated. Made once: a new alias sets up its column collection
# when first used, about 2 ms of CPU here for each conversion queued.
other = aliased(Conversion, name="other")


def turn_for(owner_key: str, weight: float):
    """The turn of a conversion of `owner_key` queued now (an SQL expression, so it is computed in the database
    at the moment the conversion joins the queue)."""
    owners_next = select(func.max(other.queue_turn) + 1.0 / weight).where(
        other.owner_key == owner_key, other.status.in_(ACTIVE)).scalar_subquery()
    serving = func.coalesce(
        select(func.max(other.queue_turn)).where(other.status == RUNNING).scalar_subquery(),
        select(func.min(other.queue_turn)).where(other.status == QUEUED).scalar_subquery(),
        0.0)
    mine = func.coalesce(owners_next, 0.0)
    return case((mine > serving, mine), else_=serving)


def next_ids(limit: int):
    """The ids of the next `limit` queued conversions, locked; on PostgreSQL, rows another claimer has locked are
    skipped."""
    return (select(Conversion.id).where(Conversion.status == QUEUED)
            .order_by(Conversion.queue_turn, Conversion.created_at, Conversion.id).limit(limit)
            .with_for_update(skip_locked=True))


def ahead_of(row: Conversion):
    """How many queued conversions of each converter will be claimed before `row` (as things stand: later
    arrivals of other owners may still take turns before it)."""
    turn, created_at = row.queue_turn, row.created_at
    return select(Conversion.converter, func.count()).group_by(Conversion.converter).where(
        Conversion.status == QUEUED, or_(
        Conversion.queue_turn < turn,
        and_(Conversion.queue_turn == turn, or_(
            Conversion.created_at < created_at,
            and_(Conversion.created_at == created_at, Conversion.id < row.id)))))
