"""Gotenberg's asynchronous mode: the `Gotenberg-Webhook-*` headers read and checked before the body is, and the
result (or the error) queued as webhook deliveries, so they are retried, logged and never sent to a private
address, as every webhook of this server."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from typing import Any, Coroutine

from ..db.models import File
from ..errors import BadRequest, Forbidden
from ..identity import Identity
from ..uploads.plain import content_disposition
from ..webhooks import deliveries

STATE = "gotenberg"  # the plugin's state: the webhook requests still running ("tasks")
METHODS = ("POST", "PATCH", "PUT")
MEDIA_TYPES = {"pdf": "application/pdf", "zip": "application/zip", "json": "application/json"}


@dataclasses.dataclass(frozen=True)
class WebhookRequest:
    url: str
    method: str
    error_url: str
    error_method: str
    events_url: str
    extra_headers: dict[str, str]
    trace: str


def _method(headers, name: str) -> str:
    method = headers.get(name, "") or "POST"
    if method.upper() not in METHODS:
        raise BadRequest(f"Invalid '{name}' header value: expected 'POST', 'PATCH' or 'PUT', but got '{method}'")
    return method.upper()


def _extra_headers(value: str) -> dict[str, str]:
    try:
        extra = json.loads(value) if value else {}
    except ValueError as error:
        raise BadRequest(f"Invalid 'Gotenberg-Webhook-Extra-Http-Headers' header value: {error}") from None
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        raise BadRequest("Invalid 'Gotenberg-Webhook-Extra-Http-Headers' header value: not a JSON object of "
                         "strings")
    return extra


def requested(headers, trace: str) -> WebhookRequest | None:
    """The webhook the request asks for, None when it asks for none; 400 for malformed headers."""
    url = headers.get("Gotenberg-Webhook-Url", "")
    if not url:
        return None
    error_url, events_url = headers.get("Gotenberg-Webhook-Error-Url", ""), headers.get(
        "Gotenberg-Webhook-Events-Url", "")
    if not error_url and not events_url:
        raise BadRequest("At least one of 'Gotenberg-Webhook-Error-Url' or 'Gotenberg-Webhook-Events-Url' "
                         "headers must be provided")
    return WebhookRequest(url, _method(headers, "Gotenberg-Webhook-Method"), error_url,
                          _method(headers, "Gotenberg-Webhook-Error-Method"), events_url,
                          _extra_headers(headers.get("Gotenberg-Webhook-Extra-Http-Headers", "")), trace)


async def check(ctx, identity: Identity, webhook: WebhookRequest) -> None:
    """As for any webhook: the plugin must run, the caller must have an account (deliveries are signed with
    its secret), and every target must be a public address (403, as Gotenberg refuses a filtered URL)."""
    if ctx.pm.get_plugin("webhooks") is None:
        raise BadRequest("Webhooks are not available: this server runs without its webhooks plugin.")
    if identity.is_anonymous:
        raise Forbidden("Anonymous callers cannot use Gotenberg-Webhook-Url: webhooks are signed with an "
                        "account's webhook secret, so send an API key (HTTP Basic password or X-API-Key).")
    for url in filter(None, (webhook.url, webhook.error_url, webhook.events_url)):
        try:
            await deliveries.check_target(ctx, url)
        except deliveries.TargetRefused as error:
            raise Forbidden(error.message) from None


def in_background(ctx, work: Coroutine) -> None:
    """Run a webhook request's work after its 204, kept in the plugin's state until it ends."""
    tasks = ctx.state(STATE).setdefault("tasks", set())
    task = asyncio.ensure_future(work)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def drain(ctx, grace: float) -> None:
    """At shutdown: let the running webhook requests end (their jobs still run), then cancel what is left."""
    tasks = set(ctx.state(STATE).get("tasks", ()))
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=grace)
    for task in late:
        task.cancel()
    if late:
        await asyncio.wait(late)


async def _queue(ctx, identity: Identity, webhook: WebhookRequest, url: str, event: str, **message: Any) -> None:
    await deliveries.enqueue(ctx, owner_user_id=identity.user_id, owner_session_id=identity.session_id, url=url,
                             event=event, **message)


def _event(name: str, webhook: WebhookRequest, **extra: Any) -> bytes:
    stamp = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return json.dumps({"event": name, "correlationId": webhook.trace, "timestamp": stamp, **extra}).encode()


async def deliver_result(ctx, identity: Identity, webhook: WebhookRequest, record: File, filename: str) -> None:
    """The result file to the webhook URL (it is kept until the caller's retention removes it), then the
    `webhook.success` event."""
    headers = {**webhook.extra_headers, "Gotenberg-Trace": webhook.trace}
    headers.setdefault("Content-Disposition", content_disposition(filename))
    await _queue(ctx, identity, webhook, webhook.url, "gotenberg.result", body_file_id=record.id,
                 content_type=MEDIA_TYPES.get(record.format, "application/octet-stream"), method=webhook.method,
                 headers=headers)
    if webhook.events_url:
        await _queue(ctx, identity, webhook, webhook.events_url, "webhook.success",
                     body=_event("webhook.success", webhook))


async def deliver_error(ctx, identity: Identity, webhook: WebhookRequest, status: int, message: str) -> None:
    """`{"status", "message"}` to the error URL, then the `webhook.error` event."""
    error = {"status": status, "message": message}
    headers = {**webhook.extra_headers, "Gotenberg-Trace": webhook.trace}
    if webhook.error_url:
        await _queue(ctx, identity, webhook, webhook.error_url, "gotenberg.error", body=json.dumps(error).encode(),
                     method=webhook.error_method, headers=headers)
    if webhook.events_url:
        await _queue(ctx, identity, webhook, webhook.events_url, "webhook.error",
                     body=_event("webhook.error", webhook, error=error))

