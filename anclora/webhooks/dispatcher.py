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


class Dispatcher:
    def __init__(self, ctx):
        self.ctx = ctx
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._sending: set[asyncio.Task] = set()
        self._task: asyncio.Task | None = None
        self._client = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._client = sender.new_client(self.ctx)
        self._task = asyncio.create_task(self._run(), name="webhook deliveries")

    async def stop(self, grace: float) -> None:
        """Stop claiming; let the requests in flight end within `grace` seconds, then give back what is left."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._sending:
            _, late = await asyncio.wait(set(self._sending), timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        try:
            await deliveries.release(self.ctx, self.worker_id)
        finally:
            await self._client.aclose()

    async def _run(self) -> None:
        settings = self.ctx.settings
        while True:
            self._wake.clear()  # (before claiming: a delivery queued from now on wakes the wait below)
            room = settings.webhook_concurrency - len(self._sending)
            try:
                rows = await deliveries.claim(self.ctx, self.worker_id, room) if room > 0 else []
            except Exception as error:  # the database is away: try again at the next poll
                log.warning("could not claim webhook deliveries: %s", error)
                rows = []
            for row in rows:
                task = asyncio.create_task(self._deliver(row), name=f"webhook {row.id}")
                self._sending.add(task)
                task.add_done_callback(self._sent)
            if rows and len(rows) == room:
                continue  # there may be more due
            try:
                await asyncio.wait_for(self._wake.wait(), settings.webhook_poll_seconds)
            except TimeoutError:
                pass

    def _sent(self, task: asyncio.Task) -> None:
        self._sending.discard(task)
        self._wake.set()  # room for another one

    async def _deliver(self, row: WebhookDelivery) -> None:
        started, clock = utcnow(), time.monotonic()
        try:
            outcome = await sender.send(self.ctx, self._client, row)
            done = await deliveries.record(self.ctx, row, self.worker_id, started, time.monotonic() - clock,
                                           outcome.status_code, outcome.error)
        except Exception:
            log.exception("webhook delivery %s could not be attempted", row.id)
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
