"""The delivery loop of one process: claims due deliveries, sends a few at once, records every attempt."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid

from ..db.base import utcnow
from ..db.models import WebhookDelivery
from . import deliveries, sender

log = logging.getLogger("anclora.webhooks")
SWEEP_SECONDS = 60.0  # how often the sweeps run


class Dispatcher:
    """`sweeps`: async functions of ctx run at start and every SWEEP_SECONDS (queuing what a stopped process did
    not get to queue, pruning the log)."""

    def __init__(self, ctx, sweeps=()):
        self.ctx, self.sweeps = ctx, sweeps
        self._swept = float("-inf")
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._sending: set[asyncio.Task] = set()
        self._task: asyncio.Task | None = None
        self._client = None

    def wake(self) -> None:
        self._wake.set()

    def claimant(self) -> str | None:
        """This process's id when it has room to send a delivery being queued here at once (saving the claim's
        round trip), else None: the delivery waits for a loop with room."""
        return self.worker_id if self._task is not None and self._room() > 0 else None

    def send(self, row: WebhookDelivery) -> None:
        """Send a delivery this process has claimed."""
        if self._client is None:
            self._client = sender.new_client(self.ctx)
        task = asyncio.create_task(self._deliver(row), name=f"webhook {row.id}")
        self._sending.add(task)
        task.add_done_callback(self._sent)

    def _room(self) -> int:
        return self.ctx.settings.webhook_concurrency - len(self._sending)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook deliveries")

    async def stop(self, grace: float) -> None:
        """Stop claiming; let the requests in flight end within `grace` seconds, then give back what is left."""
        task, self._task = self._task, None  # (nothing queued from now on is sent here)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._sending:
            _, late = await asyncio.wait(set(self._sending), timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        try:
            await deliveries.release(self.ctx, self.worker_id)
        finally:
            if self._client is not None:
                await self._client.aclose()

    async def _run(self) -> None:
        settings = self.ctx.settings
        while True:
            self._wake.clear()  # (before claiming: room freed or a redelivery from now on wakes the wait below)
            await self._sweep()
            room = self._room()
            try:
                rows = await deliveries.claim(self.ctx, self.worker_id, room) if room > 0 else []
            except Exception as error:  # the database is away: try again at the next poll
                log.warning("could not claim webhook deliveries: %s", error)
                rows = []
            for row in rows:
                self.send(row)
            if rows and len(rows) == room:
                continue  # there may be more due
            try:
                await asyncio.wait_for(self._wake.wait(), settings.webhook_poll_seconds)
            except TimeoutError:
                pass

    async def _sweep(self) -> None:
        if time.monotonic() - self._swept < SWEEP_SECONDS:
            return
        self._swept = time.monotonic()
        for sweep in self.sweeps:
            try:
                await sweep(self.ctx)
            except Exception:
                log.exception("webhook sweep %s failed", sweep.__qualname__)

    def _sent(self, task: asyncio.Task) -> None:
        self._sending.discard(task)
        self._wake.set()  # room for another one

    async def _deliver(self, row: WebhookDelivery) -> None:
        started, clock = utcnow(), time.monotonic()
        try:
            outcome = await sender.send(self.ctx, self._client, row)
        except Exception as error:  # (a bug or a storage failure: counted as an attempt, so it cannot loop)
            log.exception("webhook delivery %s could not be attempted", row.id)
            outcome = sender.Outcome(error=f"The delivery could not be attempted ({type(error).__name__}).")
        try:
            done = await deliveries.record(self.ctx, row, self.worker_id, started, time.monotonic() - clock,
                                           outcome.status_code, outcome.error)
        except Exception:  # the lease runs out and the delivery is tried again
            log.exception("the attempt at webhook delivery %s could not be recorded", row.id)
            return
        if done is not None:
            self._count(done, outcome)

    def _count(self, row: WebhookDelivery, outcome: sender.Outcome) -> None:
        metrics = self.ctx.metrics
        if row.status == deliveries.DELIVERED:
            metrics.webhook_attempts.labels("delivered").inc()
            metrics.webhook_latency.observe((row.delivered_at - row.created_at).total_seconds())
            return
        label = "refused" if outcome.refused else "failed" if row.status == deliveries.FAILED else "retry"
        metrics.webhook_attempts.labels(label).inc()
        log.info("webhook delivery %s to %s: attempt %d %s", row.id, row.url, row.attempts,
                 outcome.error or f"answered {outcome.status_code}")
