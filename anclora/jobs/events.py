"""Telling the world a conversion changed: lifecycle hooks, and an in-process wake-up for event streams."""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator

from .. import plugins
from ..db.models import Conversion
from . import store
from .store import as_json

log = logging.getLogger("anclora.jobs")


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


async def publish(ctx, row: Conversion, event: str) -> None:
    """Wake local waiters and tell every plugin through `anclora_conversion_<event>` with the public JSON (a
    failing plugin is logged; it never changes the conversion's outcome nor keeps the others from hearing)."""
    ctx.events.notify(row.id, row)
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
