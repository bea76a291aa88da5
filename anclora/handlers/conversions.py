"""/api/conversions: create (or quote), list, show, cancel, download the result, follow events."""

from __future__ import annotations

import time
from contextlib import aclosing
from typing import AsyncIterator

from ..db.models import Conversion, File
from ..db.owned import get_owned
from ..errors import BadRequest, Conflict
from ..jobs import events, service, store
from ..jobs.outlook import outlook
from ..openapi import EVENT, IDEMPOTENCY_KEY, MOMENT, PAGE, STRING, Body, Reply, obj, operation
from .base import APIHandler, event_text
from .files import DOWNLOAD, DOWNLOAD_HEADERS, send_file

MAX_IDEMPOTENCY_KEY = IDEMPOTENCY_KEY["maxLength"]
KEEPALIVE_SECONDS = 15.0
_NAMES = {"type": "array", "items": STRING}
_CONVERSION_FIELDS = {
    "id": STRING, "file_id": {"type": ["string", "null"]},  # (null once the source file is deleted)
    "from": STRING, "to": STRING, "converter": STRING, "via": _NAMES, "options": {"type": "object"},
    "cost": {"type": "integer"}}
CONVERSION = obj({
    **_CONVERSION_FIELDS, "status": {"enum": ["queued", "running", "succeeded", "failed", "canceled"]},
    "progress": {"type": ["number", "null"]}, "result_file_id": {"type": ["string", "null"]},
    "error": {"anyOf": [{"type": "null"}, obj({"code": STRING, "message": STRING}, closed=False)]},
    "attempts": {"type": "integer"}, "created_at": MOMENT, "started_at": MOMENT, "finished_at": MOMENT,
    "cached": {"type": "boolean"}, "webhook_url": {"type": ["string", "null"]},
    "queue_position": {"type": ["integer", "null"]}, "estimated_start_at": MOMENT},
    required=("id", "status", "file_id", "from", "to", "created_at"), closed=False)
QUOTE = obj({**_CONVERSION_FIELDS, "input_size": {"type": "integer"}, "dry_run": {"const": True}},
            required=("id", "file_id", "from", "to", "cost", "dry_run"), closed=False)
CREATE = obj({"file_id": STRING, "to": STRING, "options": {"type": ["object", "null"]},
              "dry_run": {"type": ["boolean", "null"]}, "webhook_url": {"type": ["string", "null"]},
              "cache": {"type": "boolean", "default": True,
                        "description": "false: convert again even when an earlier result could be reused."}},
             required=("file_id", "to"))
CREATED = {
    202: Reply(CONVERSION, {"Location": "The conversion."}),
    200: {"anyOf": [CONVERSION, QUOTE],
          "description": "A dry run's quote, or the conversion an earlier request with this Idempotency-Key made."},
    402: "Not enough credits.", 403: "An anonymous caller may not set `webhook_url`.", 404: "No such file.",
    409: "The Idempotency-Key is in use.",
    413: "The file is larger than the converter accepts.", 415: "The file's type could not be recognised.",
    422: "No converter makes this target from this file, the Idempotency-Key was used with another body, or "
         "`webhook_url` is a target the server refuses.",
    429: "A limit of the plan, or the queue, is full; try again after Retry-After.",
}
QUEUE_REFRESH_SECONDS = 1.0  # how often a queued conversion's event stream looks whether its position changed


def _webhook_url(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("https://", "http://")) or len(value) > 2000:
        raise BadRequest("`webhook_url` must be an http(s) URL.")
    return value


class ConversionsHandler(APIHandler):
    @operation(CREATED, body=CREATE, headers={"Idempotency-Key": IDEMPOTENCY_KEY})
    async def post(self) -> None:
        """Queue a conversion of one of the caller's files (or quote it with `"dry_run": true`); a repeat of an
        earlier one succeeds at once from the result cache, `"cached": true` (`"cache": false` skips it)."""
        body = self.json_body()
        key = self.request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
            raise BadRequest(f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY} characters.")
        conversion, created = await service.create(
            self.ctx, self.identity, file_id=body["file_id"], to=body["to"], options=body.get("options"),
            dry_run=body.get("dry_run") is True, idempotency_key=key,
            webhook_url=_webhook_url(body.get("webhook_url")), use_cache=body.get("cache", True))
        if conversion.get("dry_run"):
            self.write_json(conversion)
            return
        self.set_header("Location", f"/api/conversions/{conversion['id']}")
        self.write_json(conversion, 202 if created else 200)

    @operation({200: obj({"conversions": {"type": "array", "items": CONVERSION}}, required=("conversions",),
                         closed=False)}, query=obj(PAGE))
    async def get(self) -> None:
        """List the caller's conversions, newest first."""
        page = self.query()
        rows = await store.list_owned(self.ctx, self.identity, page["limit"], page["offset"])
        self.write_json({"conversions": [store.as_json(row) for row in rows]})


class ConversionHandler(APIHandler):
    @operation({200: CONVERSION})
    async def get(self, conversion_id: str) -> None:
        """Status, progress and result of one of the caller's conversions; its place in the queue while queued."""
        self.write_json(await with_outlook(self.ctx, await get_owned(self.ctx, Conversion, self.identity,
                                                                     conversion_id)))

    @operation({200: CONVERSION, 409: "The conversion has already ended."})
    async def delete(self, conversion_id: str) -> None:
        """Cancel a queued or running conversion (its engine process is killed); 409 once it has ended."""
        self.write_json(await service.cancel(self.ctx, self.identity, conversion_id))


class ConversionResultHandler(APIHandler):
    @operation({**DOWNLOAD, 409: "The conversion has not succeeded, or its result was deleted."},
               headers=DOWNLOAD_HEADERS)
    async def get(self, conversion_id: str) -> None:
        """The converted file as a download; 409 while the conversion has not succeeded."""
        row = await get_owned(self.ctx, Conversion, self.identity, conversion_id)
        if row.status != store.SUCCEEDED:
            raise Conflict(f"The conversion is {store.as_json(row)['status']}, not succeeded.")
        if row.result_file_id is None:
            raise Conflict("The result has been deleted.")
        await send_file(self, await get_owned(self.ctx, File, self.identity, row.result_file_id),
                        presigned=True)


class ConversionEventsHandler(APIHandler):
    @operation({200: Body("text/event-stream", EVENT, "`event: status`: the conversion's JSON after each change.")})
    async def get(self, conversion_id: str) -> None:
        """Server-Sent Events (`event: status`) of status and progress changes until the conversion ends."""
        await get_owned(self.ctx, Conversion, self.identity, conversion_id)
        await self.stream_events(self._statuses(conversion_id))

    async def _statuses(self, conversion_id: str) -> AsyncIterator[str]:
        """The conversion as JSON after each change (its queue position too); a keep-alive when nothing changed
        for a while."""
        last, sent = None, time.monotonic()
        async with aclosing(events.follow(self.ctx, conversion_id, poll=KEEPALIVE_SECONDS,
                                          poll_queued=QUEUE_REFRESH_SECONDS)) as rows:
            async for row in rows:
                if row is None:
                    return
                data = await with_outlook(self.ctx, row)
                if data != last:
                    yield event_text("status", data)
                elif time.monotonic() - sent >= KEEPALIVE_SECONDS:
                    yield event_text(None)
                else:
                    continue
                last, sent = data, time.monotonic()


async def with_outlook(ctx, row) -> dict:
    """The conversion's public JSON, with its queue position and estimated start while it is queued."""
    data = store.as_json(row)
    if row.status == store.QUEUED:
        data.update(await outlook(ctx, row))
    return data


default_handlers = [
    (r"/api/conversions", ConversionsHandler),
    (r"/api/conversions/([0-9a-f-]{36})", ConversionHandler),
    (r"/api/conversions/([0-9a-f-]{36})/result", ConversionResultHandler),
    (r"/api/conversions/([0-9a-f-]{36})/events", ConversionEventsHandler),
]
