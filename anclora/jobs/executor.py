"""The in-process executor: claims queued conversions from the database and runs a bounded number at once.

Jobs are claimed with a guarded UPDATE and a lease that a heartbeat renews, so several processes (servers and
`anclora worker`s) can share one database; a job whose worker died is re-queued when its lease runs out, or
failed with `worker_lost` once it has used `job_attempts`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid

from ..db.models import Conversion
from ..engines import zygote
from . import events, runner, store
from .runner import remove_work_folders, run_job

log = logging.getLogger("anclora.jobs")


class Executor:
    lease_seconds = 60.0  # renewed every lease/4 while the job runs, so only a dead worker's lease runs out
    poll_interval = 1.0  # how soon jobs queued by other processes are noticed
    recovery_interval = 10.0

    def __init__(self, ctx, worker_id: str | None = None):
        self.ctx = ctx
        self.worker_id = worker_id or worker_id_for_this_process()
        self.tasks: dict[str, asyncio.Task] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task | None = None
        self._stopping = False
        self._backlog = False  # whether the last look for work found more than the free slots could take
        self._held = 0  # slots kept for claims in flight and conversions `start_now` took, not yet running

    async def start(self) -> None:
        self.ctx.events.on_queued(self.wake)  # a conversion queued by another process, announced through Redis
        await self.recover()
        self._loop_task = asyncio.create_task(self._loop(), name=f"executor {self.worker_id}")

    def wake(self) -> None:
        """Something was queued or a slot freed: look for work now."""
        self._wake.set()

    async def _loop(self) -> None:
        last_recovery = time.monotonic()
        while not self._stopping:
            self._wake.clear()
            try:
                if time.monotonic() - last_recovery > self.recovery_interval:
                    last_recovery = time.monotonic()
                    await self.recover()
                await self._fill_slots()
            except Exception as error:  # the database may be restarting: keep the loop alive and retry
                log.warning("executor could not claim work: %s", error)
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            except asyncio.TimeoutError:
                pass

    def _free(self) -> int:
        """Slots neither running a job nor held for a claim in flight."""
        return 0 if self._stopping else self.ctx.settings.workers - len(self.tasks) - self._held

    async def _fill_slots(self) -> None:
        """Claim as many jobs as there are free slots, in one statement."""
        free = self._free()
        self._backlog = True  # (a job ending while the claim runs must not miss work queued meanwhile)
        self._held += free
        try:
            rows = await store.claim(self.ctx, self.worker_id, self.lease_seconds, limit=free) if free > 0 else []
        finally:
            self._held -= free
        self._backlog = free <= len(rows)  # every slot taken: more may be waiting for one
        for row in rows:
            self._run(row)

    async def start_now(self, conversion_id: str, owner_key: str, weight: float) -> Conversion | None:
        """Take a conversion still pending straight to running here, when a slot is free and nothing waits in the
        queue (`store.start_pending`), without a turn of the claiming loop. The row, whose slot stays held until
        `run` is given it; None: no slot, or something waits (queue it)."""
        if self._free() < 1:
            return None
        self._held += 1
        try:
            row = await store.start_pending(self.ctx, conversion_id, self.worker_id, self.lease_seconds, owner_key,
                                            weight)
        finally:
            self._held -= 1
        if row is not None:
            self._held += 1  # (until `run`)
        return row

    def run(self, row: Conversion) -> None:
        """Run a conversion `start_now` has taken for this process (a request waits for its result:
        `run_job`'s `awaited`)."""
        self._held -= 1
        self._run(row, awaited=True)

    def _run(self, row: Conversion, awaited: bool = False) -> None:
        self.ctx.metrics.queue_wait.observe(max(0.0, (row.started_at - row.created_at).total_seconds()))
        task = asyncio.create_task(self._execute(row, awaited), name=f"conversion {row.id}")
        self.tasks[row.id] = task
        task.add_done_callback(lambda _task, conversion_id=row.id: self._done(conversion_id))

    def _done(self, conversion_id: str) -> None:
        """A slot is free: look for work now if some may be waiting (else the next wake or poll finds it)."""
        self.tasks.pop(conversion_id, None)
        if self._backlog:
            self.wake()

    async def _execute(self, row, awaited: bool) -> None:
        job = asyncio.current_task()
        heartbeat = asyncio.create_task(self._heartbeat(row.id, job))
        try:
            await run_job(self.ctx, row, self.worker_id, awaited)
        except asyncio.CancelledError:
            pass  # canceled by its owner, lost to another worker, or released by stop(): the row says which
        except Exception:  # the database went away while ending it: the lease runs out and recover() acts
            log.exception("conversion %s could not be settled", row.id)
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)  # never left pending at shutdown

    async def _heartbeat(self, conversion_id: str, job: asyncio.Task) -> None:
        """Renew the lease; when the row is no longer ours (canceled elsewhere, taken over), stop the job."""
        while True:
            await asyncio.sleep(self.lease_seconds / 4)
            try:
                still_ours = await store.extend_lease(self.ctx, conversion_id, self.worker_id, self.lease_seconds)
            except Exception as error:
                log.warning("could not renew the lease of conversion %s: %s", conversion_id, error)
                continue
            if not still_ours:
                job.cancel()
                return

    async def cancel(self, conversion_id: str, wait: float = 15.0) -> None:
        """Stop a job running here (its engine's process group is killed) and wait until it has cleaned up."""
        task = self.tasks.get(conversion_id)
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=wait)

    async def recover(self) -> None:
        requeued, failed = await store.recover_lost(self.ctx, self.ctx.settings.job_attempts, worker_is_dead)
        for row in requeued + failed:
            remove_work_folders(self.ctx, row.id)
            log.warning("conversion %s lost its worker: %s", row.id, row.status)
        for row in failed:
            await events.publish(self.ctx, row, "failed")
        if requeued:
            self.wake()

    async def stop(self, grace: float) -> None:
        """Claim nothing more, let running jobs finish for `grace` seconds, then hand the rest back to the queue."""
        self._stopping = True
        self.wake()
        if self._loop_task is not None:
            await self._loop_task
        running = list(self.tasks.items())
        if running:
            await asyncio.wait([task for _, task in running], timeout=grace)
        for conversion_id, task in running:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
                if await store.release(self.ctx, conversion_id, self.worker_id):
                    log.info("conversion %s handed back to the queue at shutdown", conversion_id)


def worker_id_for_this_process() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def worker_is_dead(worker_id: str) -> bool:
    """Whether a worker on this host has exited: its jobs need not wait for their lease to run out (a restart).
    Workers elsewhere, and live processes (even a reused pid), are left to their leases."""
    parts = worker_id.split(":")
    if len(parts) != 3 or parts[0] != socket.gethostname()[:60] or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def start(ctx) -> None:
    """Start this process's executor (and the warm workers its Python engines fork from), kept in the `jobs`
    state."""
    if ctx.settings.plugin("jobs")["warm_workers"]:
        warm = zygote.ZygotePool(runner.work_root(ctx) / ".warm")
        ctx.engine_pools.register(zygote.SERVICE, warm)  # every converter's worker scripts may fork from it
    executor = Executor(ctx)
    await executor.start()
    ctx.state("jobs")["executor"] = executor


async def stop(ctx) -> None:
    executor = ctx.state("jobs").pop("executor", None)
    if executor is not None:
        await executor.stop(ctx.settings.shutdown_grace)
    warm = ctx.engine_pools.unregister(zygote.SERVICE)
    if warm is not None:
        await warm.close()


def executor_for(ctx) -> Executor | None:
    """This process's executor; None when the `jobs` plugin is blocked (conversions wait for a worker)."""
    return ctx.state("jobs").get("executor")
