"""/api/admin/ops: the bundled playbooks, starting a run, its status, its events (SSE), cancelling it. Admins only."""

from __future__ import annotations

from contextlib import aclosing
from typing import AsyncIterator

from ..openapi import EVENT, MOMENT, STRING, Body, Reply, obj, operation
from ..ops.service import ops_service
from .base import APIHandler, event_text

_TEXT = {"type": ["string", "null"]}
RUN_REQUEST = obj({"playbook": {**STRING, "minLength": 1}, "extravars": {"type": ["object", "null"]},
                   "check": {"type": ["boolean", "null"]}, "limit": _TEXT, "tags": _TEXT, "skip_tags": _TEXT},
                  required=("playbook",))
RUN = obj({"id": STRING, "playbook": STRING, "status": STRING, "rc": {"type": ["integer", "null"]},
           "check": {"type": "boolean"}, "stats": {"type": ["object", "null"]}, "created_at": MOMENT,
           "finished_at": MOMENT}, required=("id", "playbook", "status"), closed=False)
PLAYBOOK = obj({"name": STRING, "summary": STRING, "variables": {"type": "object"},
                "required": {"type": "array", "items": STRING}}, required=("name", "variables"), closed=False)
BUSY = "Another operations run is in progress."


class AdminHandler(APIHandler):
    access = "admin"


class PlaybooksHandler(AdminHandler):
    @operation({200: obj({"playbooks": {"type": "array", "items": PLAYBOOK}}, required=("playbooks",),
                         closed=False)})
    async def get(self) -> None:
        """The bundled playbooks and the variables each accepts."""
        self.write_json({"playbooks": ops_service(self.ctx).catalog()})


class RunsHandler(AdminHandler):
    @operation({202: Reply(RUN, {"Location": "The run."}), 404: "No such playbook.", 409: BUSY,
                422: "The playbook's variables are invalid (details list them)."}, body=RUN_REQUEST)
    async def post(self) -> None:
        """Start a playbook run; 409 while another run is in progress."""
        body = self.json_body()
        run = await ops_service(self.ctx).start(
            body["playbook"], body.get("extravars"), check=bool(body.get("check")), limit=body.get("limit"),
            tags=body.get("tags"), skip_tags=body.get("skip_tags"), user_id=self.identity.user_id)
        self.set_header("Location", f"/api/admin/ops/runs/{run['id']}")
        self.write_json(run, 202)


class RunHandler(AdminHandler):
    @operation({200: RUN})
    async def get(self, run_id: str) -> None:
        """A run: status (running, successful, failed, canceled), rc, per-host stats."""
        self.write_json(await ops_service(self.ctx).get(run_id))

    @operation({202: RUN, 409: "This run is not running here."})
    async def delete(self, run_id: str) -> None:
        """Cancel a running run (its ansible processes are killed)."""
        self.write_json(await ops_service(self.ctx).cancel(run_id), 202)


class RunEventsHandler(AdminHandler):
    @operation({200: Body("text/event-stream", EVENT, "`event: ansible` for each event, then `event: end`.")})
    async def get(self, run_id: str) -> None:
        """Server-Sent Events (`event: ansible`) of the run from its start, then `event: end` with its status."""
        await self.stream_events(self._events(ops_service(self.ctx), run_id))

    async def _events(self, service, run_id: str) -> AsyncIterator[str]:
        async with aclosing(service.events(run_id)) as events:
            async for event in events:
                yield event_text("ansible", event)
        yield event_text("end", await service.wait(run_id))


default_handlers = [
    (r"/api/admin/ops/playbooks", PlaybooksHandler),
    (r"/api/admin/ops/runs", RunsHandler),
    (r"/api/admin/ops/runs/([0-9a-f-]{36})", RunHandler),
    (r"/api/admin/ops/runs/([0-9a-f-]{36})/events", RunEventsHandler),
]
