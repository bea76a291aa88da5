"""One attempt at one conversion: a private work folder, the route's steps, the result stored, the row ended."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from pathlib import Path

from .. import files

from ..db.base import utcnow
from ..db.models import Conversion, File
from ..errors import AncloraError, ConversionFailed
from ..storage import FULL, storage_error
from . import events, store
from ..conversion.chain import run_route

log = logging.getLogger("anclora.jobs")
PROGRESS_INTERVAL = 0.5  # seconds between progress writes for one job


def work_root(ctx) -> Path:
    """Where work folders live: storage's local scratch folder (for the local backend, the storage area itself:
    same filesystem, so results move into storage by rename)."""
    return ctx.storage.scratch / "work"


def _remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def remove_work_folders(ctx, conversion_id: str) -> None:
    """Remove every work folder of a conversion (also those a dead process left behind)."""
    for folder in work_root(ctx).glob(f"{conversion_id}.*"):
        shutil.rmtree(folder, ignore_errors=True)


class Progress:
    """The ConversionContext callback: at most one row update and one hook call per interval, the first one an
    interval after the job started (so a short job writes nothing but its outcome, which carries 100%). Reports
    between writes are merged into the next one, which carries the latest. The update runs beside the conversion
    instead of holding it up."""

    def __init__(self, ctx, row: Conversion, worker_id: str):
        self.ctx, self.row, self.worker_id = ctx, row, worker_id
        self._last = time.monotonic()
        self._latest = 0
        self._writing: asyncio.Task | None = None
        self._waiting = False  # the write in flight is still waiting for its turn (nothing sent yet)

    async def __call__(self, percent: int) -> None:
        if percent >= 100:
            return  # (100% is written with the outcome)
        self._latest = percent
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write(), name=f"progress {self.row.id}")

    async def _write(self) -> None:
        delay = self._last + PROGRESS_INTERVAL - time.monotonic()
        if delay > 0:
            self._waiting = True
            await asyncio.sleep(delay)  # a pace, not a synchronisation: reports meanwhile are merged
            self._waiting = False
        self._last = time.monotonic()
        try:
            row = await store.transition(self.ctx, self.row.id, store.owned_by(self.worker_id),
                                         progress=self._latest)
        except Exception as error:  # progress is best effort: the job goes on
            log.warning("could not record the progress of conversion %s: %s", self.row.id, error)
            return
        if row is not None:
            await events.publish(self.ctx, row, "progress")

    async def settle(self) -> None:
        """The job succeeded: drop a write still waiting for its turn, wait for one being sent, so that the last
        progress event comes before the outcome."""
        if self._writing is not None:
            if self._waiting:
                self._writing.cancel()
            await asyncio.wait({self._writing})

    def abandon(self) -> None:
        """Cancel the progress write in flight, if any: the job ends (failed, canceled) without waiting for it."""
        if self._writing is not None:
            self._writing.cancel()


async def run_job(ctx, row: Conversion, worker_id: str, awaited: bool = False) -> None:
    """Run a conversion this worker has claimed. Cancellation propagates (the caller settles the row).
    `awaited`: a request waits to answer with the result (`Executor.start_now`), so a result the cache does not
    keep outlives no request and is stored without an fsync."""
    workdir = work_root(ctx) / f"{row.id}.{row.attempts}"
    durable = not awaited or row.cache_key is not None
    started = time.monotonic()
    outcome = "canceled"
    progress = Progress(ctx, row, worker_id)
    try:
        await events.publish(ctx, row, "started")
        try:
            source = _input_of(row)
            output = await _convert(ctx, row, source, workdir, progress)
            await progress.settle()
            result = await _store_result(ctx, row, source, output, durable)  # (no wait before `_succeed`)
        finally:  # gone before anyone can see the outcome, whatever it is (in a thread: a megabyte input's
            progress.abandon()  # blocks and pages take 1-2 ms to free; a cancel leaves the thread finishing it)
            await asyncio.get_running_loop().run_in_executor(None, _remove_folder, workdir)
        outcome = await _succeed(ctx, row, worker_id, result)
    except asyncio.CancelledError:
        raise
    except Exception as error:
        failure = _failure_of(row, error)
        outcome = await _fail(ctx, row, worker_id, failure.code, failure.message)
    finally:
        ctx.metrics.conversions.labels(row.converter, outcome).inc()
        ctx.metrics.conversion_seconds.labels(row.converter).observe(time.monotonic() - started)


def _failure_of(row: Conversion, error: Exception) -> AncloraError:
    """What a failed job tells its owner; only the unexpected comes with a traceback in the log."""
    if isinstance(error, AncloraError):
        return error
    if isinstance(error, OSError) and error.errno in FULL:
        log.warning("conversion %s: no space left in the work folder", row.id)
        return storage_error(error)
    log.error("conversion %s failed unexpectedly", row.id, exc_info=error)
    return ConversionFailed()


async def _succeed(ctx, row: Conversion, worker_id: str, result: File) -> str:
    """Record the result's file and the conversion's success in one transaction."""
    try:
        done = await store.finish(ctx, row.id, worker_id, store.SUCCEEDED, adding=(result,), progress=100,
                                  result_file_id=result.id)
    except BaseException:
        await ctx.storage.delete(result.storage_key)
        raise
    if done is None:  # canceled or taken over meanwhile: this attempt's result is not wanted
        await ctx.storage.delete(result.storage_key)
        return "canceled"
    done.result_file = result
    await events.publish(ctx, done, "finished")
    return "succeeded"


async def _fail(ctx, row: Conversion, worker_id: str, code: str, message: str) -> str:
    done = await store.finish(ctx, row.id, worker_id, store.FAILED, error_code=code, error_message=message[:2000])
    if done is not None:
        await events.publish(ctx, done, "failed")
    return "failed"


def _input_of(row: Conversion) -> store.Input:
    """The input file as the claim read it."""
    source = row.claimed_input
    if source is None or source.expires_at <= utcnow():
        raise ConversionFailed("The input file no longer exists.")
    return source


async def _input_path(ctx, row: Conversion, record: store.Input, workdir: Path) -> Path:
    """The input staged into the work folder under a generated name (an engine never touches the stored bytes)."""
    src = workdir / f"input.{row.from_format}"
    await ctx.storage.stage(record.storage_key, src)
    return src


async def _convert(ctx, row: Conversion, source: store.Input, workdir: Path, progress: Progress) -> Path:
    route = ctx.planner.resolve(row.converter, row.from_format, row.to_format, list(row.via or []))
    workdir.mkdir(parents=True, exist_ok=False)
    workdir.chmod(0o700)
    src = await _input_path(ctx, row, source, workdir)
    return await run_route(route, src, workdir, dict(row.options or {}), default_timeout=ctx.settings.job_timeout,
                           report=progress, pools=ctx.engine_pools.for_converter)


async def _store_result(ctx, row: Conversion, source: store.Input, output: Path, durable: bool) -> File:
    """Move the output into storage (nothing of it stays in the work folder); its row as a file of the
    conversion's owner (same expiry policy as uploads), under the conversion's cache key when it has one, written
    with the conversion's success (`_succeed`)."""
    key, size, sha256 = await ctx.storage.import_file(output, durable=durable)
    return files.new_record(ctx, store.identity_of(row), key=key, size=size, sha256=sha256,
                            filename=result_filename(source.filename, row.to_format), origin="conversion",
                            fmt=row.to_format, cache_key=row.cache_key)


def result_filename(input_name: str, fmt: str) -> str:
    stem = input_name.rsplit(".", 1)[0] if "." in input_name else input_name
    return f"{stem}.{fmt}"
