"""Where a queued conversion stands: how many will be claimed before it, and when it should start.

The estimate assumes what is ahead runs at the pace of recent conversions: each converter's median duration over
its latest runs, the work ahead (what running jobs have left, then the queued ones before this one) shared by as
many slots as are busy now. While conversions wait, every slot is busy (a free one would have claimed them), so
the running count is the workers' capacity across all nodes.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from ..db.base import iso, utcnow
from ..db.models import Conversion
from . import fair_share, store

RECENT = 200  # latest succeeded conversions whose durations make the estimates
PER_CONVERTER = 20  # of which, at most this many per converter
UNKNOWN_SECONDS = 1.0  # a converter's duration before any conversion has been timed


async def outlook(ctx, row: Conversion) -> dict[str, Any]:
    """`queue_position` (0: claimed next) and `estimated_start_at` of a queued conversion."""
    async with ctx.sessionmaker() as session:
        ahead = (await session.execute(fair_share.ahead_of(row))).all()
        running = (await session.execute(select(Conversion.converter, Conversion.started_at)
                                         .where(Conversion.status == store.RUNNING))).all()
        recent = (await session.execute(
            select(Conversion.converter, Conversion.started_at, Conversion.finished_at)
            .where(Conversion.status == store.SUCCEEDED, Conversion.cached.is_(False))
            .order_by(Conversion.created_at.desc()).limit(RECENT))).all()
    return {"queue_position": sum(count for _, count in ahead),
            "estimated_start_at": iso(estimated_start(durations(recent), ahead, running, utcnow()))}


def durations(recent) -> dict[str, float]:
    """Median seconds per converter over its latest runs; under None, the median over all of them."""
    seconds: dict[str, list[float]] = defaultdict(list)
    for converter, started, finished in recent:
        if started is not None and finished is not None and len(seconds[converter]) < PER_CONVERTER:
            seconds[converter].append((finished - started).total_seconds())
    medians: dict[Any, float] = {name: statistics.median(values) for name, values in seconds.items() if values}
    medians[None] = statistics.median(medians.values()) if medians else UNKNOWN_SECONDS
    return medians


def estimated_start(medians: dict, ahead, running, now: dt.datetime) -> dt.datetime:
    def typical(converter: str) -> float:
        return medians.get(converter, medians[None])

    left = sum(max(0.0, typical(converter) - (now - started).total_seconds()) for converter, started in running)
    waiting = sum(count * typical(converter) for converter, count in ahead)
    return now + dt.timedelta(seconds=(left + waiting) / max(1, len(running)))
