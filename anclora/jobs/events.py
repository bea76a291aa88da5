"""Telling the world a conversion changed: lifecycle hooks, an in-process wake-up for event streams, and with Redis
the same wake-up for every other process (a progress made by a worker reaches a stream followed on any node)."""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator, Callable

from .. import plugins
from ..db.models import Conversion
from . import store
from .store import as_json

log = logging.getLogger("anclora.jobs")
CHANNEL = "anclora:{db}:conversions"  # Redis pub/sub: "<conversion id> <event>" for each change
RELAY_RETRY_SECONDS = 2.0  # between attempts to subscribe again after Redis went away
RELAY_WAIT_SECONDS = 1.0  # one wait for a message; below the client's 5 s socket timeout, which would end it


class _Watch:
    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.row: Conversion | None = None  # the row as the last notification left it, when it carried one


class Notifier:
    """Wakes whoever watches a conversion id in this process, handing over the row as it now is. The database
    stays the truth: a watcher also re-reads the row now and then, which is how changes made by other processes
    arrive."""

    def __init__(self) -> None:
        self._watchers: dict[str, set[_Watch]] = {}
        self._on_queued: list[Callable[[], None]] = []

    def on_queued(self, callback: Callable[[], None]) -> None:
        """Call `callback` whenever another process queues a conversion (an executor looks for work at once)."""
        self._on_queued.append(callback)

    def notify(self, conversion_id: str, row: Conversion | None = None) -> None:
        for watch in self._watchers.get(conversion_id, ()):
            # a late notification of an earlier change must not hide that the conversion has ended
            if watch.row is None or watch.row.status not in store.FINAL:
                watch.row = row
            watch.changed.set()

    def watch(self, conversion_id: str) -> _Watch:
        watch = _Watch()
        self._watchers.setdefault(conversion_id, set()).add(watch)
        return watch

    def unwatch(self, conversion_id: str, watch: _Watch) -> None:
        watchers = self._watchers.get(conversion_id, set())
        watchers.discard(watch)
        if not watchers:
            self._watchers.pop(conversion_id, None)

    def announced(self, conversion_id: str, event: str) -> None:
        """Another process changed a conversion: wake its watchers here (and the executors, if it was queued)."""
        self.notify(conversion_id)
        for callback in self._on_queued if event == "queued" else ():
            callback()

    def notify_all(self) -> None:
        """Wake every watcher to re-read its row (changes announced while the relay was away were missed)."""
        for conversion_id in list(self._watchers):
            self.notify(conversion_id)


def channel(redis) -> str:
    """The channel of this Redis database: pub/sub spans a server's databases, deployments sharing it must not
    hear each other."""
    return CHANNEL.format(db=redis.connection_pool.connection_kwargs.get("db", 0))


async def relay(ctx) -> None:
    """Wake this process's watchers for the changes other processes announce on Redis; runs until canceled.
    Without Redis there is nothing to relay: watchers fall back on re-reading their row now and then."""
    while True:
        try:
            async with ctx.redis.pubsub() as pubsub:
                await pubsub.subscribe(channel(ctx.redis))
                ctx.events.notify_all()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=RELAY_WAIT_SECONDS)
                    if message is not None:
                        ctx.events.announced(*message["data"].decode().partition(" ")[::2])
        except asyncio.CancelledError:
            raise
        except Exception as error:  # Redis restarting: streams still re-read their rows meanwhile
            log.warning("conversion events from other processes unavailable: %s", error)
            await asyncio.sleep(RELAY_RETRY_SECONDS)


async def publish(ctx, row: Conversion, event: str) -> None:
    """Wake local waiters and tell every plugin through `anclora_conversion_<event>` with the public JSON (a
    failing plugin is logged; it never changes the conversion's outcome nor keeps the others from hearing)."""
    ctx.events.notify(row.id, row)
    if ctx.redis is not None:
        try:
            await ctx.redis.publish(channel(ctx.redis), f"{row.id} {event}")
        except Exception as error:  # the row is the truth; other processes' streams re-read it later
            log.warning("could not announce conversion %s to other processes: %s", row.id, error)
    await tell_plugins(ctx, row, event)


async def tell_plugins(ctx, row: Conversion, event: str) -> None:
    """`publish` without waking anyone: for a row that was final from its first commit, which every watcher
    reads as final without being told."""
    await plugins.notify(ctx.pm, f"anclora_conversion_{event}", ctx=ctx, conversion=as_json(row),
                         owner=store.identity_of(row))


async def follow(ctx, conversion_id: str, poll: float = 1.0, poll_queued: float | None = None,
                 current: Conversion | None = None) -> AsyncIterator[Conversion | None]:
    """The conversion's row now and after each change, until it has ended (or vanished); also every `poll`
    seconds (`poll_queued` while it waits in the queue, where what changes is the rest of the queue). `current`:
    the row as the caller has it now, taken instead of reading it (the caller has not waited since it got it, so
    no change of this process is missed). Use with aclosing()."""
    notifier = ctx.events
    watch = notifier.watch(conversion_id)
    try:
        row = current if current is not None else await store.get(ctx, conversion_id)
        while True:
            yield row
            if row is None or row.status in store.FINAL:
                return
            try:
                waiting = row.status in (store.PENDING, store.QUEUED) and poll_queued is not None
                await asyncio.wait_for(watch.changed.wait(), poll_queued if waiting else poll)
            except asyncio.TimeoutError:
                pass
            notified, watch.row = watch.row, None
            watch.changed.clear()  # after taking the row: a change from now on wakes the next wait
            row = notified if notified is not None else await store.get(ctx, conversion_id)
    finally:
        notifier.unwatch(conversion_id, watch)
