"""The conversions table as a state machine: every transition is one guarded UPDATE, so each job ends once."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Callable, NamedTuple

import sqlalchemy
from sqlalchemy import Float, bindparam, func, inspect, select, update

from ..db import direct
from ..db.base import iso, utcnow
from ..db.models import Conversion, File
from ..identity import Identity
from . import fair_share

PENDING = "pending"  # inserted, not yet authorized; shown as "queued", never claimed
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED = "queued", "running", "succeeded", "failed", "canceled"
FINAL = (SUCCEEDED, FAILED, CANCELED)
PENDING_TIMEOUT = dt.timedelta(minutes=5)  # authorization never takes this long unless its process died


def shown_options(options: Any) -> Any:
    """The options as answers, hooks and webhook events show them: a value under a key ending in `password` (a
    PDF's, at any depth) is masked, so it leaves the server only in the request that gave it."""
    if isinstance(options, dict):
        return {key: "********" if str(key).endswith("password") and value else shown_options(value)
                for key, value in options.items()}
    if isinstance(options, list):
        return [shown_options(item) for item in options]
    return options


def as_json(row: Conversion) -> dict[str, Any]:
    """The public JSON of a conversion (GET /api/conversions/{id}, hooks, events)."""
    error = {"code": row.error_code, "message": row.error_message} if row.error_code else None
    return {
        "id": row.id,
        "status": QUEUED if row.status == PENDING else row.status,
        "progress": row.progress,
        "file_id": row.file_id,
        "from": row.from_format,
        "to": row.to_format,
        "converter": row.converter,
        "via": list(row.via or []),
        "options": shown_options(row.options or {}),
        "result_file_id": row.result_file_id,
        "error": error,
        "cost": row.cost,
        "webhook_url": row.webhook_url,
        "cached": row.cached,
        "attempts": row.attempts,
        "created_at": iso(row.created_at),
        "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at),
        "queue_position": None,  # while queued, GET and the event stream fill these in (`outlook`)
        "estimated_start_at": None,
    }


def identity_of(row: Conversion) -> Identity:
    """The owner of a conversion, as an Identity (results belong to whoever owned the input)."""
    return Identity(address="", user_id=row.user_id, session_id=row.session_id)


async def get(ctx, conversion_id: str) -> Conversion | None:
    async with ctx.sessionmaker() as session:
        return await session.get(Conversion, conversion_id, populate_existing=True)


async def list_owned(ctx, identity: Identity, limit: int, offset: int) -> list[Conversion]:
    async with ctx.reader() as session:
        rows = await session.scalars(
            select(Conversion).where(Conversion.owned_by(identity))
            .order_by(Conversion.created_at.desc(), Conversion.id).limit(limit).offset(offset))
        return list(rows)


async def find_idempotent(ctx, owner_key: str, key: str) -> Conversion | None:
    async with ctx.sessionmaker() as session:
        return await session.scalar(select(Conversion).where(
            Conversion.owner_key == owner_key, Conversion.idempotency_key == key))


async def insert(ctx, row: Conversion, waiting_below: int | None = None, adding: tuple = ()) -> Conversion | None:
    """Insert the row, and the rows `adding` in the same transaction; with `waiting_below`, only while fewer
    conversions wait for a worker (in every process), counted in the same statement: None when as many wait."""
    row.created_at = row.created_at or utcnow()
    async with ctx.sessionmaker() as session:
        session.add_all(adding)
        if waiting_below is None:
            session.add(row)
        else:
            values = {f"new_{name}": value for name, value in _column_values(row).items()}
            inserted = await session.execute(_insert_below(tuple(name[4:] for name in values)),
                                             {**values, "waiting_below": waiting_below})
            if inserted.rowcount != 1:
                return None
        await session.commit()
    return row


def _column_values(row: Conversion) -> dict[str, Any]:
    """The row's columns that hold a value, by name (for a plain INSERT: the others take their defaults)."""
    values = {column.key: getattr(row, column.key) for column in inspect(Conversion).column_attrs}
    return {name: value for name, value in values.items() if value is not None}


@functools.lru_cache(maxsize=32)
def _insert_below(columns: tuple[str, ...]):
    """INSERT of a conversion's `columns` while fewer than `waiting_below` wait, its values bound at each call
    (`new_<column>`): made once for each set of columns, as building it took 0.5 of the 1.2 ms of CPU it cost."""
    table = Conversion.__table__
    waiting = select(func.count()).select_from(Conversion).where(Conversion.status.in_((PENDING, QUEUED)))
    chosen = select(*(bindparam(f"new_{name}", type_=table.c[name].type).label(name) for name in columns))
    return sqlalchemy.insert(table).from_select(
        list(columns), chosen.where(waiting.scalar_subquery() < bindparam("waiting_below")))


async def delete(ctx, conversion_id: str) -> None:
    async with ctx.sessionmaker() as session:
        row = await session.get(Conversion, conversion_id)
        if row is not None:
            await session.delete(row)
            await session.commit()


async def transition(ctx, conversion_id: str, where: dict[str, Any], *, adding: tuple = (), **values: Any
                     ) -> Conversion | None:
    """UPDATE one row only if its columns still hold `where` (a value, a tuple of values, or None), and insert the
    rows `adding` in the same transaction only if it did; the updated row, or None."""
    computed = {column: value for column, value in values.items() if isinstance(value, sqlalchemy.ClauseElement)}
    statement = _guarded_update(tuple((column, _guard_kind(expected)) for column, expected in where.items()),
                                tuple(column for column in values if column not in computed))
    if computed:  # (a value the database computes, as `release`'s: rare, so not kept)
        statement = statement.values(**computed)
    bound = {"where_id": conversion_id,
             **{f"where_{column}": expected for column, expected in where.items() if expected is not None},
             **{f"set_{column}": value for column, value in values.items() if column not in computed}}
    async with ctx.sessionmaker() as session:
        session.add_all(adding)  # (flushed before the UPDATE, which may point at them)
        row = await session.scalar(statement, bound, execution_options=UPDATING)
        await (session.commit() if row is not None else session.rollback())
    return row


def _guard_kind(expected: Any) -> str:
    return "null" if expected is None else "several" if isinstance(expected, tuple) else "one"


@functools.lru_cache(maxsize=64)
def _guarded_update(where: tuple[tuple[str, str], ...], columns: tuple[str, ...]):
    """`transition`'s UPDATE for one shape of guard ((column, `_guard_kind`) pairs) and one set of columns, its
    values bound at each call (`where_<column>`, `set_<column>`): made once, as building it cost a job's end
    (`finish`) more CPU than running it."""
    table = Conversion.__table__
    conditions = [Conversion.id == bindparam("where_id")]
    for column, kind in where:
        attribute = getattr(Conversion, column)
        if kind == "null":
            conditions.append(attribute.is_(None))
        elif kind == "several":
            conditions.append(attribute.in_(bindparam(f"where_{column}", expanding=True)))
        else:
            conditions.append(attribute == bindparam(f"where_{column}"))
    return update(Conversion).where(*conditions).values(
        {column: bindparam(f"set_{column}", type_=table.c[column].type) for column in columns}).returning(Conversion)


class Input(NamedTuple):
    """What the runner needs of a claimed conversion's input file (read by the claim itself)."""
    storage_key: str
    filename: str
    expires_at: dt.datetime


def _of_input(column):
    return select(column).where(File.id == Conversion.file_id).correlate(Conversion).scalar_subquery()


# What a claim returns beside each row: its input file's `Input` (made once, as `fair_share.other`)
CLAIMED_INPUT = tuple(_of_input(column) for column in (File.storage_key, File.filename, File.expires_at))
# (the session holds nothing the UPDATE could have changed: no row of it needs bringing up to date)
UPDATING = {"populate_existing": True, "synchronize_session": False}


async def _claimed(ctx, statement, parameters: dict[str, Any] | None = None) -> list[Conversion]:
    """Run a claiming UPDATE and commit; its rows, each with its `claimed_input` (None when the file is gone)."""
    async with ctx.sessionmaker() as session:
        result = await session.execute(statement, parameters, execution_options=UPDATING)
        rows = []
        for row, *source in result.all():
            row.claimed_input = Input(*source) if source[0] is not None else None
            rows.append(row)
        await session.commit()
    return rows


async def claim(ctx, worker_id: str, lease_seconds: float, limit: int = 1) -> list[Conversion]:
    """Take up to `limit` queued conversions for this worker, in the fair-share order (`fair_share`), each with
    its input file's `Input` in `claimed_input` (None when that file is gone). One statement; on PostgreSQL,
    claimers running at the same moment skip the rows another one has locked and take the next."""
    now = utcnow()
    # MATERIALIZED: as a plain subquery, PostgreSQL may run it once per row and claim more than `limit` rows
    chosen = fair_share.next_ids(limit).cte("chosen").prefix_with("MATERIALIZED", dialect="postgresql")
    rows = await _claimed(ctx, update(Conversion).where(Conversion.id.in_(select(chosen.c.id)),
                                                        Conversion.status == QUEUED)
                          .values(status=RUNNING, claimed_by=worker_id, started_at=now,
                                  lease_until=now + dt.timedelta(seconds=lease_seconds),
                                  attempts=Conversion.attempts + 1, progress=0)
                          .returning(Conversion, *CLAIMED_INPUT))
    return sorted(rows, key=lambda row: (row.created_at, row.id))


# Made once, its values bound at each call: building it took half the CPU of running it (1.3 of 2.6 ms)
START_PENDING = (
    update(Conversion)
    .where(Conversion.id == bindparam("conversion_id"), Conversion.status == PENDING,
           ~select(fair_share.other.id).where(fair_share.other.status == QUEUED).exists())
    .values(status=RUNNING, claimed_by=bindparam("worker_id"), lease_until=bindparam("lease_end"),
            started_at=bindparam("now"), attempts=Conversion.attempts + 1, progress=0,
            queue_turn=fair_share.turn_for(bindparam("turn_owner"), bindparam("turn_weight", type_=Float)))
    .returning(Conversion, *CLAIMED_INPUT))


async def start_pending(ctx, conversion_id: str, worker_id: str, lease_seconds: float, owner_key: str,
                        weight: float) -> Conversion | None:
    """Take a conversion that has just been authorized straight from pending to running for this worker, with
    its `claimed_input` as `claim` gives it and the fair-share turn queueing would give it (its owner's key and
    weight) — only while no conversion waits in the queue (of any process), counted in the same statement: none
    the fair share would claim first is passed over. None: it stays pending (queue it), or it is gone."""
    now = utcnow()
    rows = await _claimed(ctx, START_PENDING, {
        "conversion_id": conversion_id, "worker_id": worker_id, "now": now,
        "lease_end": now + dt.timedelta(seconds=lease_seconds), "turn_owner": owner_key, "turn_weight": weight})
    return rows[0] if rows else None


def owned_by(worker_id: str) -> dict[str, Any]:
    return {"status": RUNNING, "claimed_by": worker_id}


async def extend_lease(ctx, conversion_id: str, worker_id: str, lease_seconds: float) -> bool:
    row = await transition(ctx, conversion_id, owned_by(worker_id),
                           lease_until=utcnow() + dt.timedelta(seconds=lease_seconds))
    return row is not None


async def finish(ctx, conversion_id: str, worker_id: str, status: str, adding: tuple = (), **values: Any
                 ) -> Conversion | None:
    """End a conversion this worker runs (inserting the rows `adding` with it); None when it is no longer this
    worker's (canceled, taken over), and then nothing is inserted."""
    return await transition(ctx, conversion_id, owned_by(worker_id), adding=adding, status=status,
                            finished_at=utcnow(), lease_until=None, **values)


async def cancel(ctx, conversion_id: str) -> Conversion | None:
    return await transition(ctx, conversion_id, {"status": (PENDING, QUEUED, RUNNING)}, status=CANCELED,
                            finished_at=utcnow(), lease_until=None)


async def release(ctx, conversion_id: str, worker_id: str) -> Conversion | None:
    """Give a running conversion back to the queue (the process is stopping); the attempt does not count."""
    return await transition(ctx, conversion_id, owned_by(worker_id), status=QUEUED, claimed_by=None,
                            lease_until=None, progress=0, attempts=Conversion.attempts - 1)


async def recover_lost(ctx, max_attempts: int, dead: Callable[[str], bool] = lambda worker_id: False
                       ) -> tuple[list[Conversion], list[Conversion]]:
    """Conversions whose worker stopped renewing its lease (or is known `dead`): re-queued, or failed with
    `worker_lost` once they have used their attempts; and conversions whose process died while plugins were
    authorizing them (failed, so a plugin that charged gives the credits back). Returns (requeued, failed)."""
    now = utcnow()
    async with ctx.sessionmaker() as session:
        running = list(await session.scalars(select(Conversion).where(Conversion.status == RUNNING)))
        stuck = list(await session.scalars(select(Conversion.id).where(
            Conversion.status == PENDING, Conversion.created_at < utcnow() - PENDING_TIMEOUT)))
    requeued, failed = [], []
    for conversion_id in stuck:
        done = await transition(ctx, conversion_id, {"status": PENDING}, status=FAILED, finished_at=utcnow(),
                                error_code="authorization_interrupted",
                                error_message="The server stopped while the conversion was being authorized.")
        failed += [done] if done else []
    lost = [row for row in running
            if row.lease_until is None or row.lease_until < now or dead(row.claimed_by or "")]
    for row in lost:
        where = {"status": RUNNING, "claimed_by": row.claimed_by, "lease_until": row.lease_until}
        if row.attempts >= max_attempts:
            done = await transition(ctx, row.id, where, status=FAILED, finished_at=utcnow(), lease_until=None,
                                    error_code="worker_lost",
                                    error_message=f"The worker running it stopped, {row.attempts} time(s).")
            failed += [done] if done else []
        else:
            done = await transition(ctx, row.id, where, status=QUEUED, claimed_by=None, lease_until=None,
                                    progress=0)
            requeued += [done] if done else []
    return requeued, failed


async def insert_one(connection, row: Conversion) -> None:
    """Insert the row with a plain INSERT and commit it, on the caller's `connection` (an AsyncConnection): for a
    hot path, without the unit of work (whose flush costs a one-shot cache hit more CPU than the statement
    itself), and on SQLite in one hop to its thread (`direct`)."""
    row.created_at = row.created_at or utcnow()
    values = _column_values(row)
    if direct.usable(connection):
        for column in Conversion.__table__.columns:  # (what the INSERT's execution would fill in)
            if column.key not in values and column.default is not None and column.default.is_scalar:
                values[column.key] = column.default.arg
        statement = direct.compiled(_INSERT, connection.dialect, tuple(sorted(values)))
        await direct.execute_and_commit(connection, statement, values)
        return
    try:
        await connection.execute(_INSERT, values)
        await connection.commit()
    except BaseException:  # (the connection can go on, as on SQLite)
        await connection.rollback()
        raise


_INSERT = sqlalchemy.insert(Conversion.__table__)  # built once: its cache key is then computed once
