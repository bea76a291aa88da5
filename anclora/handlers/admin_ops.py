"""/api/admin/ops: the bundled playbooks, starting a run, its status, its events (SSE), cancelling it. Admins only."""

from __future__ import annotations

from contextlib import aclosing
from typing import AsyncIterator

from ..errors import BadRequest, Forbidden, Unauthorized
from ..ops.service import ops_service
from .base import APIHandler, event_text

_RUN_OPTIONS = {"playbook": str, "extravars": dict, "check": bool, "limit": str, "tags": str, "skip_tags": str}


class AdminHandler(APIHandler):
    async def prepare(self) -> None:
        await super().prepare()
        if self.identity.is_anonymous:
            raise Unauthorized()
        if not self.identity.is_admin:
            raise Forbidden("Only administrators may run operations.")


def _run_request(body: dict) -> dict:
    unknown = sorted(set(body) - set(_RUN_OPTIONS))
    if unknown:
        raise BadRequest(f"Unknown field(s): {', '.join(unknown)}.")
    for name, kind in _RUN_OPTIONS.items():
        if body.get(name) is not None and not isinstance(body[name], kind):
            raise BadRequest(f"`{name}` must be a {kind.__name__}.")
    if not body.get("playbook"):
        raise BadRequest("`playbook` is required.")
    return body


class PlaybooksHandler(AdminHandler):
    async def get(self) -> None:
        """The bundled playbooks and the variables each accepts."""
        self.write_json({"playbooks": ops_service(self.ctx).catalog()})


class RunsHandler(AdminHandler):
    async def post(self) -> None:
        """Start a playbook run; 409 while another run is in progress."""
        body = _run_request(self.json_body())
        run = await ops_service(self.ctx).start(
            body["playbook"], body.get("extravars"), check=bool(body.get("check")), limit=body.get("limit"),
            tags=body.get("tags"), skip_tags=body.get("skip_tags"), user_id=self.identity.user_id)
        self.set_header("Location", f"/api/admin/ops/runs/{run['id']}")
        self.write_json(run, 202)


class RunHandler(AdminHandler):
    async def get(self, run_id: str) -> None:
        """A run: status (running, successful, failed, canceled), rc, per-host stats."""
        self.write_json(await ops_service(self.ctx).get(run_id))

    async def delete(self, run_id: str) -> None:
        """Cancel a running run (its ansible processes are killed)."""
        self.write_json(await ops_service(self.ctx).cancel(run_id), 202)


class RunEventsHandler(AdminHandler):
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
