"""Telling the world a conversion changed: lifecycle hooks, and an in-process wake-up for event streams."""

from __future__ import annotations

import asyncio
import logging

from typing import AsyncIterator

from ..db.models import Conversion
from . import store
from .store import as_json

log = logging.getLogger("anclora.jobs")


class Notifier:
    """Wakes whoever watches a conversion id in this process. The database stays the truth: a watcher also
    re-reads the row now and then, which is how changes made by other processes arrive."""

    def __init__(self) -> None:
        self._watchers: dict[str, set[asyncio.Event]] = {}

    def notify(self, conversion_id: str) -> None:
        for event in self._watchers.get(conversion_id, ()):
            event.set()

    def watch(self, conversion_id: str) -> asyncio.Event:
        event = asyncio.Event()
        self._watchers.setdefault(conversion_id, set()).add(event)
        return event

    def unwatch(self, conversion_id: str, event: asyncio.Event) -> None:
        watchers = self._watchers.get(conversion_id, set())
        watchers.discard(event)
        if not watchers:
            self._watchers.pop(conversion_id, None)


def notifier_for(ctx) -> Notifier:
    notifier = ctx.services.get("conversion_events")
    if notifier is None:
        notifier = ctx.services["conversion_events"] = Notifier()
    return notifier


async def publish(ctx, row: Conversion, event: str) -> None:
    """Wake local waiters and call `anclora_conversion_<event>` with the public JSON. A failing plugin is logged,
    never allowed to change the conversion's outcome."""
    notifier_for(ctx).notify(row.id)
    try:
        await ctx.call_hook(f"anclora_conversion_{event}", ctx=ctx, conversion=as_json(row))
    except Exception:
        log.exception("a plugin failed in anclora_conversion_%s for conversion %s", event, row.id)


async def follow(ctx, conversion_id: str, poll: float = 1.0) -> AsyncIterator[Conversion | None]:
    """The conversion's row now and after each change, until it has ended (or vanished). Use with aclosing()."""
    notifier = notifier_for(ctx)
    changed = notifier.watch(conversion_id)
    try:
        while True:
            changed.clear()  # before reading, so a change made while we read is not missed
            row = await store.get(ctx, conversion_id)
            yield row
            if row is None or row.status in store.FINAL:
                return
            try:
                await asyncio.wait_for(changed.wait(), poll)
            except asyncio.TimeoutError:
                pass
    finally:
        notifier.unwatch(conversion_id, changed)
