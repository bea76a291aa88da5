"""Webhook deliveries as rows: queued, claimed with a lease by one process at a time, retried with backoff.

A delivery is sent at least once: a process that dies while sending leaves a lease that runs out, and another
process sends it again. While the lease lasts, no other process touches the row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..db.base import iso, utcnow
from ..db.models import WebhookAttempt, WebhookDelivery
from ..db.owned import get_owned
from ..errors import BadRequest, Conflict
from ..identity import Identity
from .targets import TargetRefused, check_target  # noqa: F401 (with enqueue, the API other features use)

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
METHODS = ("POST", "PUT", "PATCH")
STATE = "webhooks"  # the plugin's state: its dispatcher, which sends what this process queues
LEASE_MARGIN = 30.0  # seconds a claim outlasts the request's timeout (time to record the attempt)


def owner_key(user_id: str | None, session_id: str | None) -> str:
    return Identity(address="", user_id=user_id, session_id=session_id).owner_key


async def enqueue(ctx, *, owner_user_id: str | None, owner_session_id: str | None, url: str, event: str,
                  body: bytes | None = None, body_file_id: str | None = None,
                  content_type: str = "application/json", method: str = "POST",
                  headers: dict[str, str] | None = None, conversion_id: str | None = None, sign: bool = True) -> str:
    """Queue one message to `url` and return the delivery's id; it is sent at once (by this process when it
    runs the delivery loop) and retried with backoff until a 2xx answer or `webhook_attempts` attempts.

    The body is `body`, or the bytes of the stored file `body_file_id` (streamed from storage; the caller's
    retention rules delete it). `sign` adds `Anclora-Signature` under the owner's webhook secret (users only:
    an anonymous owner has no secret). Check the target first with `targets.check_target` (it is checked again
    before each attempt). One conversion has at most one delivery per event: queuing it again returns the
    existing delivery's id."""
    if body is not None and body_file_id is not None:
        raise ValueError("give `body` or `body_file_id`, not both")
    if method.upper() not in METHODS:
        raise BadRequest(f"The webhook method must be one of {', '.join(METHODS)}.")
    dispatcher = ctx.state(STATE).get("dispatcher")
    claimant = dispatcher.claimant() if dispatcher is not None else None  # sent here at once, if it has room
    row = WebhookDelivery(
        user_id=owner_user_id, session_id=None if owner_user_id else owner_session_id,
        owner_key=owner_key(owner_user_id, owner_session_id), conversion_id=conversion_id, event=event, url=url,
        method=method.upper(), content_type=content_type, headers=dict(headers or {}), body=body,
        body_file_id=body_file_id, sign=sign, status=PENDING, attempts=0,
        attempts_allowed=ctx.settings.webhook_attempts, next_attempt_at=utcnow(),
        claimed_by=claimant, lease_until=lease_end(ctx) if claimant else None)
    try:
        async with ctx.sessionmaker() as session:
            session.add(row)
            await session.commit()
    except IntegrityError:
        if conversion_id is None:
            raise
        return await _existing(ctx, conversion_id, event)
    if claimant is not None:
        dispatcher.send(row)
    return row.id


async def _existing(ctx, conversion_id: str, event: str) -> str:
    async with ctx.sessionmaker() as session:
        return await session.scalar(select(WebhookDelivery.id).where(
            WebhookDelivery.conversion_id == conversion_id, WebhookDelivery.event == event))


def lease_end(ctx) -> dt.datetime:
    """Until when a claim made now lasts: the request's timeout, and time to record the attempt."""
    return utcnow() + dt.timedelta(seconds=ctx.settings.webhook_timeout + LEASE_MARGIN)


def _wake(ctx) -> None:
    dispatcher = ctx.state(STATE).get("dispatcher")
    if dispatcher is not None:
        dispatcher.wake()


def as_json(row: WebhookDelivery) -> dict[str, Any]:
    return {"id": row.id, "conversion_id": row.conversion_id, "event": row.event, "url": row.url,
            "status": row.status, "attempts": row.attempts, "last_status_code": row.last_status_code,
            "last_error": row.last_error, "next_attempt_at": iso(row.next_attempt_at),
            "created_at": iso(row.created_at), "delivered_at": iso(row.delivered_at)}


def attempt_json(attempt: WebhookAttempt) -> dict[str, Any]:
    return {"number": attempt.number, "started_at": iso(attempt.started_at), "duration_ms": attempt.duration_ms,
            "status_code": attempt.status_code, "error": attempt.error}


async def list_owned(ctx, identity: Identity, limit: int, offset: int) -> list[WebhookDelivery]:
    async with ctx.reader() as session:
        return list(await session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.owned_by(identity))
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id).limit(limit).offset(offset)))


async def attempts_of(ctx, delivery_id: str) -> list[WebhookAttempt]:
    async with ctx.sessionmaker() as session:
        return list(await session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
                                          .order_by(WebhookAttempt.number)))


async def redeliver(ctx, identity: Identity, delivery_id: str) -> WebhookDelivery:
    """Send a delivery again now, with a fresh allowance of attempts (whatever its status)."""
    row = await get_owned(ctx, WebhookDelivery, identity, delivery_id)
    async with ctx.sessionmaker() as session:
        again = await session.scalar(
            update(WebhookDelivery).where(WebhookDelivery.id == row.id, _unclaimed(utcnow()))
            .values(status=PENDING, next_attempt_at=utcnow(),
                    attempts_allowed=WebhookDelivery.attempts + ctx.settings.webhook_attempts)
            .returning(WebhookDelivery), execution_options={"populate_existing": True})
        await session.commit()
    if again is None:
        raise Conflict("The delivery is being sent right now; look again in a moment.")
    _wake(ctx)
    return again


def _unclaimed(now: dt.datetime):
    """No process is sending it: never claimed, given back, or its claimant's lease ran out (it died)."""
    return or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now)


async def claim(ctx, worker_id: str, limit: int) -> list[WebhookDelivery]:
    """Take up to `limit` due deliveries for this process, under a lease. One statement; on PostgreSQL, claimers
    running at the same moment skip the rows another one has locked and take the next."""
    now = utcnow()
    free = _unclaimed(now)
    due = (select(WebhookDelivery.id).where(WebhookDelivery.status == PENDING,
                                            WebhookDelivery.next_attempt_at <= now, free)
           .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
           .with_for_update(skip_locked=True)
           .cte("due").prefix_with("MATERIALIZED", dialect="postgresql"))  # (see jobs/store.py's claim)
    async with ctx.sessionmaker() as session:
        rows = list(await session.scalars(
            update(WebhookDelivery).where(WebhookDelivery.id.in_(select(due.c.id)),
                                          WebhookDelivery.status == PENDING, free)
            .values(claimed_by=worker_id, lease_until=lease_end(ctx)).returning(WebhookDelivery),
            execution_options={"populate_existing": True}))
        await session.commit()
    return rows


def _next_state(ctx, row: WebhookDelivery, number: int, delivered: bool) -> dict[str, Any]:
    """The row's status after its attempt `number`: delivered, failed for good, or due again after a backoff
    that doubles with each attempt since it was (re)queued."""
    now = utcnow()
    if delivered:
        return {"status": DELIVERED, "delivered_at": now, "next_attempt_at": None}
    if number >= row.attempts_allowed:
        return {"status": FAILED, "next_attempt_at": None}
    in_round = max(number - (row.attempts_allowed - ctx.settings.webhook_attempts), 1)
    delay = ctx.settings.webhook_backoff_seconds * 2 ** (in_round - 1)
    return {"status": PENDING, "next_attempt_at": now + dt.timedelta(seconds=delay)}


async def record(ctx, row: WebhookDelivery, worker_id: str, started_at: dt.datetime, duration: float,
                 status_code: int | None, error: str | None) -> WebhookDelivery | None:
    """Log one attempt and release the row in its next state; None when this process had lost its claim."""
    number = row.attempts + 1
    delivered = status_code is not None and 200 <= status_code < 300
    async with ctx.sessionmaker() as session:
        done = await session.scalar(
            update(WebhookDelivery).where(WebhookDelivery.id == row.id, WebhookDelivery.claimed_by == worker_id)
            .values(attempts=number, last_status_code=status_code, last_error=error, claimed_by=None,
                    lease_until=None, **_next_state(ctx, row, number, delivered))
            .returning(WebhookDelivery), execution_options={"populate_existing": True})
        if done is not None:
            session.add(WebhookAttempt(delivery_id=row.id, number=number, started_at=started_at,
                                       duration_ms=round(duration * 1000), status_code=status_code,
                                       error=error))
        await session.commit()
    return done


async def release(ctx, worker_id: str) -> None:
    """Give back every delivery this process has claimed (it is stopping), for another one to send."""
    async with ctx.sessionmaker() as session:
        await session.execute(update(WebhookDelivery).where(WebhookDelivery.claimed_by == worker_id)
                              .values(claimed_by=None, lease_until=None))
        await session.commit()


async def prune(ctx) -> int:
    """Forget deliveries that ended more than `webhook_log_days` ago (their attempts go with them)."""
    cutoff = utcnow() - dt.timedelta(days=ctx.settings.webhook_log_days)
    async with ctx.sessionmaker() as session:
        gone = await session.execute(delete(WebhookDelivery).where(
            WebhookDelivery.status.in_((DELIVERED, FAILED)), WebhookDelivery.created_at < cutoff))
        await session.commit()
    return gone.rowcount
