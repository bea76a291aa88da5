"""The order queued conversions are claimed in: a weighted round robin across owners, computed by the database.

Each owner's running and queued conversions are numbered 1, 2, 3... (running ones first, then queued ones oldest
first); a queued conversion's turn is its number divided by its owner's weight. Conversions are claimed by turn,
then oldest first. So an owner with 50 queued and one running waits behind another owner's only conversion (turn
1 against turns 2..51), and an owner of weight 2 gets two turns for every one of weight 1. The numbering is
computed afresh by every claim from the rows themselves, so any number of workers on any number of nodes agree on
it without shared memory, and no state needs repairing when a worker dies.
"""

from __future__ import annotations

from sqlalchemy import Float, case, cast, func, select

from ..db.models import Conversion

RUNNING, QUEUED = "running", "queued"


def active():
    """Running and queued conversions with their turn."""
    number = func.row_number().over(
        partition_by=Conversion.owner_key,
        order_by=(case((Conversion.status == RUNNING, 0), else_=1), Conversion.created_at, Conversion.id))
    turn = (cast(number, Float) / Conversion.queue_weight).label("turn")
    return (select(Conversion.id, Conversion.status, Conversion.created_at, Conversion.converter, turn)
            .where(Conversion.status.in_((QUEUED, RUNNING))).subquery("active"))


def next_ids(limit: int):
    """The ids of the next `limit` queued conversions, locked; on PostgreSQL, rows another claimer has locked are
    skipped. (The window function sits in a subquery: PostgreSQL locks no rows of a query that has one.)"""
    ranked = active()
    return (select(Conversion.id).join(ranked, ranked.c.id == Conversion.id)
            .where(ranked.c.status == QUEUED, Conversion.status == QUEUED)
            .order_by(ranked.c.turn, ranked.c.created_at, ranked.c.id).limit(limit)
            .with_for_update(skip_locked=True, of=Conversion))


def claim_order():
    """Every queued conversion with its place in the claim order (1 is claimed next) and its converter."""
    ranked = active()
    place = func.row_number().over(order_by=(ranked.c.turn, ranked.c.created_at, ranked.c.id)).label("place")
    return select(ranked.c.id, ranked.c.converter, place).where(ranked.c.status == QUEUED).subquery("ordered")
