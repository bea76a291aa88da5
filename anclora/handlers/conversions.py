"""/api/conversions: create (or quote), list, show, cancel, download the result, follow events."""

from __future__ import annotations

from contextlib import aclosing
from typing import AsyncIterator

from ..db.models import Conversion, File
from ..db.owned import get_owned
from ..errors import BadRequest, Conflict
from ..jobs import events, service, store
from .base import APIHandler, event_text
from .files import send_file

MAX_IDEMPOTENCY_KEY = 255
KEEPALIVE_SECONDS = 15.0


def _webhook_url(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("https://", "http://")) or len(value) > 2000:
        raise BadRequest("`webhook_url` must be an http(s) URL.")
    return value


class ConversionsHandler(APIHandler):
    async def post(self) -> None:
        """Queue a conversion of one of the caller's files (or quote it with `"dry_run": true`)."""
        body = self.json_body()
        if not isinstance(body.get("file_id"), str) or not isinstance(body.get("to"), str):
            raise BadRequest("`file_id` and `to` are required strings.")
        key = self.request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
            raise BadRequest(f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY} characters.")
        conversion, created = await service.create(
            self.ctx, self.identity, file_id=body["file_id"], to=body["to"], options=body.get("options"),
            dry_run=body.get("dry_run") is True, idempotency_key=key, webhook_url=_webhook_url(body.get("webhook_url")))
        if conversion.get("dry_run"):
            self.write_json(conversion)
            return
        self.set_header("Location", f"/api/conversions/{conversion['id']}")
        self.write_json(conversion, 202 if created else 200)

    async def get(self) -> None:
        """List the caller's conversions, newest first."""
        try:
            limit = min(max(int(self.get_query_argument("limit", "100")), 1), 1000)
            offset = max(int(self.get_query_argument("offset", "0")), 0)
        except ValueError:
            raise BadRequest("`limit` and `offset` must be integers.") from None
        rows = await store.list_owned(self.ctx, self.identity, limit, offset)
        self.write_json({"conversions": [store.as_json(row) for row in rows]})


class ConversionHandler(APIHandler):
    async def get(self, conversion_id: str) -> None:
        """Status, progress and result of one of the caller's conversions."""
        self.write_json(store.as_json(await get_owned(self.ctx, Conversion, self.identity, conversion_id)))

    async def delete(self, conversion_id: str) -> None:
        """Cancel a queued or running conversion (its engine process is killed); 409 once it has ended."""
        self.write_json(await service.cancel(self.ctx, self.identity, conversion_id))


class ConversionResultHandler(APIHandler):
    async def get(self, conversion_id: str) -> None:
        """The converted file as a download; 409 while the conversion has not succeeded."""
        row = await get_owned(self.ctx, Conversion, self.identity, conversion_id)
        if row.status != store.SUCCEEDED:
            raise Conflict(f"The conversion is {store.as_json(row)['status']}, not succeeded.")
        if row.result_file_id is None:
            raise Conflict("The result has been deleted.")
        await send_file(self, await get_owned(self.ctx, File, self.identity, row.result_file_id))


class ConversionEventsHandler(APIHandler):
    async def get(self, conversion_id: str) -> None:
        """Server-Sent Events (`event: status`) of status and progress changes until the conversion ends."""
        await get_owned(self.ctx, Conversion, self.identity, conversion_id)
        await self.stream_events(self._statuses(conversion_id))

    async def _statuses(self, conversion_id: str) -> AsyncIterator[str]:
        """The conversion as JSON after each change; a keep-alive when nothing changed for a while."""
        last = None
        async with aclosing(events.follow(self.ctx, conversion_id, poll=KEEPALIVE_SECONDS)) as rows:
            async for row in rows:
                if row is None:
                    return
                data = store.as_json(row)
                yield event_text("status" if data != last else None, data)
                last = data


default_handlers = [
    (r"/api/conversions", ConversionsHandler),
    (r"/api/conversions/([0-9a-f-]{36})", ConversionHandler),
    (r"/api/conversions/([0-9a-f-]{36})/result", ConversionResultHandler),
    (r"/api/conversions/([0-9a-f-]{36})/events", ConversionEventsHandler),
]
