"""OpsService: starts one playbook run at a time, records it in ops_runs, streams its events, cancels it."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any, AsyncIterator

from sqlalchemy import select

from ..db.base import iso, utcnow
from ..db.models.ops_run import OpsRun
from ..errors import Conflict, NotFound
from . import playbooks
from .runner import RunOutcome, RunSpec, execute

log = logging.getLogger("anclora.ops")
FINAL = ("successful", "failed", "canceled")
EVENTS_KEPT = 5000  # per run, in memory; the oldest are dropped first
RUNS_KEPT = 20  # finished runs whose events stay replayable


@dataclasses.dataclass
class RunFeed:
    """The events of one run as they arrive, replayable from the start for every subscriber."""
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    dropped: int = 0  # events pushed out of `events` by newer ones
    done: bool = False
    changed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    cancel: threading.Event = dataclasses.field(default_factory=threading.Event)
    task: asyncio.Task | None = None

    def push(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if len(self.events) > EVENTS_KEPT:
            self.dropped += len(self.events) - EVENTS_KEPT
            del self.events[:-EVENTS_KEPT]
        self.changed.set()

    def finish(self) -> None:
        self.done = True
        self.changed.set()


def run_as_json(run: OpsRun) -> dict[str, Any]:
    return {"id": run.id, "playbook": run.playbook, "status": run.status, "rc": run.rc, "check": run.check_mode,
            "limit": run.limit, "extravars": run.extravars, "stats": run.stats, "message": run.message,
            "user_id": run.user_id, "created_at": iso(run.created_at), "finished_at": iso(run.finished_at)}


def _final_status(outcome: RunOutcome) -> tuple[str, str | None]:
    if outcome.status == "timeout":
        return "failed", "The run timed out and was stopped."
    if outcome.status in FINAL:
        return outcome.status, outcome.message if outcome.status == "failed" else None
    return "failed", outcome.message or f"ansible-runner ended with status {outcome.status!r}."


class OpsService:
    def __init__(self, ctx, project_dir: Path | None = None):
        settings = ctx.settings
        self.ctx = ctx
        self.project_dir = Path(project_dir) if project_dir else playbooks.project_dir(settings)
        self.inventory = settings.ops_inventory or str(self.project_dir / "inventory" / "localhost.ini")
        self.vars_files = tuple(settings.ops_vars_files)
        self.job_timeout = settings.ops_job_timeout
        self.idle_timeout = settings.ops_idle_timeout
        self.feeds: dict[str, RunFeed] = {}
        self._starting = asyncio.Lock()

    def catalog(self) -> list[dict[str, Any]]:
        return [playbook.as_json() for playbook in playbooks.load_catalog(self.project_dir).values()]

    async def start(self, name: str, extravars: dict[str, Any] | None = None, *, check: bool = False,
                    limit: str | None = None, tags: str | None = None, skip_tags: str | None = None,
                    inventory: str | None = None, user_id: str | None = None) -> dict[str, Any]:
        """Validate and start a run in the background; Conflict while another run is going."""
        playbook = playbooks.find(self.project_dir, name)
        extravars = playbook.validate(dict(extravars or {}))
        spec = RunSpec(self.project_dir, playbook.file, inventory or self.inventory, extravars, self.vars_files,
                       check, limit or None, tags or None, skip_tags or None, self.job_timeout, self.idle_timeout)
        async with self._starting:
            await self._refuse_if_busy()
            async with self.ctx.sessionmaker() as session:
                run = OpsRun(playbook=name, status="running", check_mode=check, limit=limit, user_id=user_id,
                             extravars=playbook.redacted(extravars), stats={})
                session.add(run)
                await session.commit()
            feed = self.feeds[run.id] = RunFeed()
            feed.task = asyncio.create_task(self._execute(run.id, spec, feed))
        self._forget_old_feeds()
        return run_as_json(run)

    async def _refuse_if_busy(self) -> None:
        if any(not feed.done for feed in self.feeds.values()):
            raise Conflict("Another operations run is in progress.")
        # runs started by another process (the CLI, another server); a crashed one stops counting after the timeout
        since = utcnow() - dt.timedelta(seconds=self.job_timeout + 60)
        async with self.ctx.sessionmaker() as session:
            busy = await session.scalar(select(OpsRun.id).where(
                OpsRun.status == "running", OpsRun.created_at > since).limit(1))
        if busy:
            raise Conflict("Another operations run is in progress.", details={"run_id": busy})

    async def _execute(self, run_id: str, spec: RunSpec, feed: RunFeed) -> None:
        loop = asyncio.get_running_loop()

        def on_event(event: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(feed.push, event)

        try:
            outcome = await asyncio.to_thread(execute, spec, on_event, feed.cancel)
            status, message = _final_status(outcome)
            if feed.cancel.is_set():
                status, message = "canceled", "Canceled by an administrator."
        except Exception as error:  # the run failed to start; it must still end in the history
            log.exception("operations run %s could not run", run_id)
            outcome, status, message = RunOutcome("error", None, {}), "failed", f"{type(error).__name__}: {error}"
        async with self.ctx.sessionmaker() as session:
            run = await session.get(OpsRun, run_id)
            run.status, run.rc, run.stats, run.message = status, outcome.rc, outcome.stats, message
            run.finished_at = utcnow()
            await session.commit()
        log.info("operations run %s (%s) ended: %s rc=%s", run_id, spec.playbook_file, status, outcome.rc)
        feed.finish()

    def _forget_old_feeds(self) -> None:
        finished = [run_id for run_id, feed in self.feeds.items() if feed.done]
        for run_id in finished[:-RUNS_KEPT]:
            del self.feeds[run_id]

    async def get(self, run_id: str) -> dict[str, Any]:
        async with self.ctx.sessionmaker() as session:
            run = await session.get(OpsRun, run_id)
        if run is None:
            raise NotFound("No such operations run.")
        return run_as_json(run)

    async def wait(self, run_id: str) -> dict[str, Any]:
        """The run once it has ended."""
        feed = self.feeds.get(run_id)
        if feed is not None and feed.task is not None:
            await asyncio.shield(feed.task)
        return await self.get(run_id)

    async def cancel(self, run_id: str) -> dict[str, Any]:
        """Ask a running run to stop (ansible-runner kills its process group); Conflict once it has ended."""
        run = await self.get(run_id)
        feed = self.feeds.get(run_id)
        if run["status"] != "running" or feed is None or feed.done:
            raise Conflict("This run is not running here.")
        feed.cancel.set()
        return run

    async def events(self, run_id: str) -> AsyncIterator[dict[str, Any]]:
        """Every event of the run from the first, then each new one, until the run ends."""
        await self.get(run_id)
        feed = self.feeds.get(run_id)
        if feed is None:
            return  # a run of another process, or long gone: only its record remains
        sent = 0
        while True:
            feed.changed.clear()
            events, done = feed.events[max(sent - feed.dropped, 0):], feed.done
            sent = max(sent, feed.dropped)
            for event in events:
                yield event
            sent += len(events)
            if done:
                return
            await feed.changed.wait()


def ops_service(ctx) -> OpsService:
    """The context's one OpsService, made on first use."""
    state = ctx.state("ops")
    if "service" not in state:
        state["service"] = OpsService(ctx)
    return state["service"]
