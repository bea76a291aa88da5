"""Creating and canceling conversions: plan, validate, price, authorize, queue — as the API and CLI need it."""

from __future__ import annotations

import asyncio
import hashlib
import json
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from .. import files, plugins, sniff
from ..conversion import options as conversion_options
from ..conversion.planner import Route, price
from ..db.base import new_id, utcnow
from ..db.models import Conversion, File
from ..db.owned import get_owned
from ..errors import (AncloraError, BadRequest, Conflict, ConversionFailed, ConversionTimeout,
                      IdempotencyMismatch, PayloadTooLarge, RateLimited, UnsupportedMediaType)
from ..identity import Identity
from . import cache, events, fair_share, store
from .executor import executor_for
from .runner import result_filename

IDEMPOTENT_WAIT = 10.0  # seconds a repeated request waits for the first one to be authorized
STATUS_BY_CODE = {"conversion_timeout": 504, "insufficient_storage": 507}


def plan(ctx, source: str | None, target: str, converter: str | None = None, options: Any = None) -> Route:
    """The planner's route for these options, or the named converter's when `converter` is given."""
    if not source:
        raise UnsupportedMediaType("The type of this file could not be recognised from its contents.")
    if converter is not None:
        return ctx.planner.named(converter, source, sniff.normalize(target))
    return ctx.planner.route(source, sniff.normalize(target), options if isinstance(options, dict) else None)


def quote(ctx, identity: Identity, record, target: str, options: Any,
          converter: str | None = None) -> tuple[Route, dict[str, Any], dict]:
    """The route, the validated options and the authorization dict for converting `record` to `target`."""
    route = plan(ctx, record.format, target, converter, options)
    options = conversion_options.validate(route.options_schema, options)
    limit = route.steps[0].converter.limits.get("max_input_bytes")
    if limit and record.size > limit:
        raise PayloadTooLarge(f"{route.steps[0].converter.name} accepts files up to {limit} bytes.",
                              details={"limit": limit, "size": record.size})
    conversion = {"id": new_id(), "converter": route.name, "from": route.source, "to": route.target,
                  "via": route.via, "input_size": record.size, "options": options, "file_id": record.id,
                  "cost": price(ctx, identity, route, record.size, options), "cached": False, "dry_run": False}
    return route, options, conversion


async def authorize(ctx, identity: Identity, conversion: dict[str, Any]) -> None:
    """Ask the plugins; after a refusal every plugin hears of it, so what the ones asked first held is given back."""
    try:
        await plugins.authorize(ctx.pm, "anclora_authorize_conversion", ctx=ctx, identity=identity,
                                conversion=conversion)
    except Exception:
        await plugins.notify(ctx.pm, "anclora_conversion_refused", ctx=ctx, identity=identity,
                             conversion=conversion)
        raise


def queue_weight(ctx, identity: Identity) -> float:
    """The owner's weight in the fair share (a plugin's answer, else 1)."""
    weight = plugins.first(ctx.pm, "anclora_queue_weight", ctx=ctx, identity=identity)
    return float(weight) if weight and weight > 0 else 1.0


async def create(ctx, identity: Identity, *, file_id: str, to: str, options: Any = None, dry_run: bool = False,
                 idempotency_key: str | None = None, webhook_url: str | None = None,
                 converter: str | None = None, use_cache: bool = True, record: File | None = None
                 ) -> tuple[dict, bool]:
    """Queue a conversion, or answer it from the result cache; (its public JSON, whether it is new). A dry run
    returns the quote instead. `converter` names the converter to use instead of the planner's choice; `record`
    is the caller's file `file_id`, when the caller has just read or made it."""
    if dry_run:
        _check_webhooks(ctx, webhook_url)
        record = await _input_of(ctx, identity, file_id, record)
        _, _, conversion = quote(ctx, identity, record, to, options, converter)
        conversion.update(webhook_url=webhook_url, dry_run=True)
        await authorize(ctx, identity, conversion)
        return conversion, False
    row, new = await _submit(ctx, identity, file_id=file_id, to=to, options=options, idempotency_key=idempotency_key,
                             webhook_url=webhook_url, converter=converter, use_cache=use_cache, record=record)
    return store.as_json(row), new


def _check_webhooks(ctx, webhook_url: str | None) -> None:
    if webhook_url and ctx.pm.get_plugin("webhooks") is None:
        raise BadRequest("`webhook_url` is not available: this server runs without its webhooks plugin.")


async def _input_of(ctx, identity: Identity, file_id: str, record: File | None) -> File:
    return record if record is not None and record.id == file_id else await get_owned(ctx, File, identity, file_id)


async def _submit(ctx, identity: Identity, *, file_id: str, to: str, options: Any, idempotency_key: str | None,
                  webhook_url: str | None, converter: str | None, use_cache: bool, record: File | None,
                  at_once: bool = False) -> tuple[Conversion, bool]:
    """`create` without the dry run: the conversion's row as this request left it, and whether it is new.
    `at_once`: as `_authorize_and_queue`'s."""
    digest = request_digest(file_id, to, options, webhook_url)
    if idempotency_key:
        existing = await _replay(ctx, identity, idempotency_key, digest)
        if existing is not None:
            return existing, False
    _check_webhooks(ctx, webhook_url)
    record = await _input_of(ctx, identity, file_id, record)
    route, options, conversion = quote(ctx, identity, record, to, options, converter)
    conversion["webhook_url"] = webhook_url
    key = cache.key_for(record.sha256, route, options) if cache.enabled(ctx, use_cache) else None
    reused = await cache.lookup(ctx, identity, key, result_filename(record.filename, route.target)) if key else None
    try:
        if reused is not None:
            conversion.update(cached=True, cost=price(ctx, identity, route, record.size, options, cached=True))
        row = _row(identity, route, conversion, status=store.PENDING, cache_key=key, cached=reused is not None,
                   idempotency_key=idempotency_key, request_digest=digest if idempotency_key else None)
        return await _insert(ctx, identity, row, conversion, reused, at_once)
    except BaseException:
        if reused is not None:  # (its row, if it was written, and its bytes)
            await files.forget(ctx, [reused.id])
            await ctx.storage.delete(reused.storage_key)
        raise


def _row(identity: Identity, route: Route, conversion: dict, **values: Any) -> Conversion:
    """The conversion's row as `quote` priced it, with the columns `values` of this moment."""
    return Conversion(
        id=conversion["id"], user_id=identity.user_id, session_id=None if identity.user_id else identity.session_id,
        owner_key=identity.owner_key, file_id=conversion["file_id"], from_format=route.source,
        to_format=route.target, converter=route.name, via=route.via, options=conversion["options"],
        cost=conversion["cost"], webhook_url=conversion.get("webhook_url"), **values)


async def _insert(ctx, identity: Identity, row: Conversion, conversion: dict, reused: File | None,
                  at_once: bool = False) -> tuple[Conversion, bool]:
    """Insert the row with the reused result's file, if any (a cache hit joins no queue, so the queue's size does
    not bound it), then authorize it."""
    try:
        if await store.insert(ctx, row, None if reused else ctx.settings.queue_size,
                              adding=(reused,) if reused else ()) is None:
            ctx.metrics.quota_refusals.labels("queue_full").inc()
            raise RateLimited("The conversion queue is full; try again shortly.", headers={"Retry-After": "5"})
    except IntegrityError:
        if not row.idempotency_key:
            raise
        existing = await _replay(ctx, identity, row.idempotency_key, row.request_digest)
        if existing is None:
            raise Conflict("A request with this Idempotency-Key was refused; use a new key.") from None
        if reused is not None:  # (its row was not written)
            await ctx.storage.delete(reused.storage_key)
        return existing, False
    return await _authorize_and_queue(ctx, identity, row, conversion, reused, at_once), True


async def _authorize_and_queue(ctx, identity: Identity, row: Conversion, conversion: dict,
                               reused: File | None, at_once: bool = False) -> Conversion:
    """Plugins allow (and charge) the conversion while its row holds the id; a refusal removes the row. `at_once`:
    the caller waits for the outcome and shows no queued state, so the conversion may start at once here."""
    try:
        await authorize(ctx, identity, conversion)
    except BaseException:
        await store.delete(ctx, row.id)
        ctx.events.notify(row.id)
        raise
    if reused is not None:
        return await _answer_from_cache(ctx, identity, row, reused)
    weight = queue_weight(ctx, identity)
    executor = executor_for(ctx)
    started = await _start_here(ctx, executor, row, weight) if at_once and executor is not None else None
    if started is not None:
        return started
    queued = await store.transition(ctx, row.id, {"status": store.PENDING}, status=store.QUEUED,
                                    queue_turn=fair_share.turn_for(row.owner_key, weight))
    if queued is None:  # canceled while being authorized
        return await store.get(ctx, row.id)
    await events.publish(ctx, queued, "queued")
    if executor is not None:
        executor.wake()
    return queued


async def _start_here(ctx, executor, row: Conversion, weight: float) -> Conversion | None:
    """Start an authorized conversion in this process's executor at once, skipping the queue, when a slot is free
    and nothing waits (`Executor.start_now`): its running row, else None. Plugins still hear it was accepted
    (`anclora_conversion_queued`, which sees it running) before it starts; other processes are told only that it
    started, so their executors do not look for work that is not there."""
    started = await executor.start_now(row.id, row.owner_key, weight)
    if started is not None:
        try:
            await plugins.notify(ctx.pm, "anclora_conversion_queued", ctx=ctx, conversion=store.as_json(started),
                                 owner=store.identity_of(started))
        finally:  # (its slot is held for it: it runs whatever happened to this request)
            executor.run(started)
    return started


async def _answer_from_cache(ctx, identity: Identity, row: Conversion, reused: File) -> Conversion:
    """The conversion succeeds at once with the reused result; no engine runs."""
    now = utcnow()
    done = await store.transition(ctx, row.id, {"status": store.PENDING}, status=store.SUCCEEDED, progress=100,
                                  result_file_id=reused.id, started_at=now, finished_at=now)
    if done is None:  # canceled while being authorized
        await files.delete_owned(ctx, identity, reused.id)
        return await store.get(ctx, row.id)
    done.result_file = reused
    ctx.metrics.conversions.labels(row.converter, "cached").inc()
    await events.publish(ctx, done, "finished")
    return done


def request_digest(file_id: Any, to: Any, options: Any, webhook_url: Any) -> str:
    """What makes two conversion requests the same request, as a sha256."""
    request = {"file_id": file_id, "to": to, "options": options, "webhook_url": webhook_url}
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


async def _replay(ctx, identity: Identity, key: str, digest: str) -> Conversion | None:
    """The conversion an earlier request with this key created; waits while that one is still authorizing.
    The same key with another request is refused (as the IETF Idempotency-Key draft says: 422)."""
    row = await store.find_idempotent(ctx, identity.owner_key, key)
    if row is not None and row.request_digest not in (None, digest):
        raise IdempotencyMismatch("This Idempotency-Key was used with another request; use a new key.")
    if row is None or row.status != store.PENDING:
        return row
    try:
        async with asyncio.timeout(IDEMPOTENT_WAIT):
            async with aclosing(events.follow(ctx, row.id, poll=0.2)) as rows:
                async for current in rows:
                    if current is None or current.status != store.PENDING:
                        return current
    except TimeoutError:
        raise Conflict("A request with this Idempotency-Key is still being processed.") from None


async def cancel(ctx, identity: Identity, conversion_id: str) -> dict[str, Any]:
    """Cancel a queued or running conversion; its engine is killed before this returns (when it runs here)."""
    row = await get_owned(ctx, Conversion, identity, conversion_id)
    canceled = None if row.status in store.FINAL else await store.cancel(ctx, row.id)
    if canceled is None:
        raise Conflict(f"The conversion has already ended ({(await store.get(ctx, row.id)).status}).")
    executor = executor_for(ctx)
    if executor is not None:
        await executor.cancel(row.id)
    await events.publish(ctx, canceled, "canceled")
    return store.as_json(canceled)


async def wait_final(ctx, conversion_id: str, timeout: float, current: Conversion | None = None
                     ) -> Conversion | None:
    """The conversion once it has ended (None if it vanished); raises TimeoutError after `timeout` seconds.
    `current`: its row as the caller has it now (not read again)."""
    async with asyncio.timeout(timeout):
        async with aclosing(events.follow(ctx, conversion_id, current=current)) as rows:
            async for row in rows:
                if row is None or row.status in store.FINAL:
                    return row


def error_of(row: Conversion) -> AncloraError:
    """The error a failed job recorded, raised again for a synchronous caller."""
    error = ConversionFailed(row.error_message or ConversionFailed.message)
    error.code = row.error_code or ConversionFailed.code
    error.status = STATUS_BY_CODE.get(error.code, ConversionFailed.status)
    return error


async def run_now(ctx, identity: Identity, *, file_id: str, to: str, options: Any = None, timeout: float,
                  converter: str | None = None, use_cache: bool = True, record: File | None = None):
    """Queue a conversion and wait for it (the result cache may answer at once): the result's File row. The job is
    canceled (and any result it left removed) when it does not end within `timeout` seconds: ConversionTimeout."""
    created, _ = await _submit(ctx, identity, file_id=file_id, to=to, options=options, idempotency_key=None,
                               webhook_url=None, converter=converter, use_cache=use_cache, record=record,
                               at_once=True)
    return await _result_of(ctx, identity, created, timeout)


async def _result_of(ctx, identity: Identity, created: Conversion, timeout: float) -> File:
    """`run_now` once the conversion is created: its result's File row, when it ends within `timeout` seconds."""
    try:
        row = await wait_final(ctx, created.id, timeout, current=created)
    except TimeoutError:
        try:
            await cancel(ctx, identity, created.id)
        except Conflict:  # it ended just now; the caller still gets the timeout it was promised, and nothing is kept
            row = await store.get(ctx, created.id)
            if row is not None and row.result_file_id:
                await files.delete_owned(ctx, identity, row.result_file_id)
        raise ConversionTimeout(f"The conversion did not finish within {timeout:g} s.") from None
    if row is not None and row.status == store.FAILED:
        raise error_of(row)
    if row is None or row.status != store.SUCCEEDED:
        raise ConversionFailed("The conversion was canceled.")
    if row.result_file is not None and row.result_file.id == row.result_file_id:
        return row.result_file  # stored (or taken from the cache) by this process just now: not read back
    return await get_owned(ctx, File, identity, row.result_file_id)


@dataclass
class Answer:
    """What a one-shot conversion answers with: the bytes of `file` under `filename`; `opened`, when the result
    cache answered, holds those bytes already opened (`file` is then the cached result's, not the caller's)."""
    file: File
    filename: str
    opened: cache.OpenedBytes | None = None

    async def sent(self, ctx) -> None:
        """Once the answer is sent (or failed): nothing of it is kept but a result the cache keeps."""
        if self.opened is not None:
            await self.opened.aclose()
        elif self.file.cache_key is None:
            await ctx.storage.delete(self.file.storage_key)


async def one_shot(ctx, identity: Identity, record: File, *, to: str, options: Any, timeout: float,
                   use_cache: bool = True) -> Answer:
    """Convert an upload whose File row (`files.examine`) is not written yet, for an answer that keeps nothing.
    A cache hit writes only the conversion's row; else the input's row is written, the conversion runs (as
    `run_now` runs it) and the rows go again (a computed result stays, hidden, for the result cache unless
    `use_cache` is false). The input's bytes are the caller's to delete."""
    route, valid, conversion = quote(ctx, identity, record, to, options)
    key = cache.key_for(record.sha256, route, valid) if cache.enabled(ctx, use_cache) else None
    hit = await _reuse(ctx, identity, route, conversion, key, record.size) if key else None
    if hit is not None:
        return Answer(hit.result, result_filename(record.filename, route.target), hit.chunks)
    await files.save(ctx, record)
    result = None
    try:  # (planned, priced and looked up in the cache above: only created and waited for here)
        row = _row(identity, route, conversion, status=store.PENDING, cache_key=key, cached=False)
        created, _ = await _insert(ctx, identity, row, conversion, None, at_once=True)
        result = await _result_of(ctx, identity, created, timeout)
    finally:  # the rows go now, the bytes once sent, so no database work is left after the answer
        kept = [result.id] if result and result.cache_key else []
        await files.forget(ctx, [record.id] + ([result.id] if result and not kept else []), kept)
    return Answer(result, result.filename)


async def _reuse(ctx, identity: Identity, route: Route, conversion: dict, key: str, input_size: int
                 ) -> cache.Hit | None:
    """Answer a one-shot conversion from the cache, if it holds the result: its bytes opened, and the conversion's
    row written succeeded in one INSERT, on the lookup's connection (one checkout, one commit; on SQLite the
    lookup and the INSERT with its commit are one hop each to its thread: `direct`); then the plugins
    authorize (and charge) it, so each hook sees a row that exists; a refusal removes it. The row names no file:
    the input was never stored as one, and the result is not the caller's."""
    hit = None
    try:
        async with ctx.engine.connect() as connection:
            hit = await cache.open_hit(ctx, identity, key, connection)
            if hit is None:
                return None
            now = utcnow()
            conversion.update(file_id=None, cached=True, cost=price(ctx, identity, route, input_size,
                                                                      conversion["options"], cached=True))
            row = _row(identity, route, conversion, status=store.SUCCEEDED, progress=100, cache_key=key,
                       cached=True, created_at=now, started_at=now, finished_at=now)
            await store.insert_one(connection, row)
        await _authorize_reuse(ctx, identity, row, conversion)
    except BaseException:
        if hit is not None:
            await hit.chunks.aclose()
        raise
    return hit


async def _authorize_reuse(ctx, identity: Identity, row: Conversion, conversion: dict) -> None:
    try:
        await authorize(ctx, identity, conversion)
    except BaseException:
        await store.delete(ctx, row.id)
        raise
    ctx.metrics.conversions.labels(row.converter, "cached").inc()
    # final from its first commit: a watcher anywhere reads it so, so only the plugins need telling
    await events.tell_plugins(ctx, row, "finished")
