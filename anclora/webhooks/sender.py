"""One attempt at one webhook delivery: the target checked again, the body (inline or streamed from storage)
signed, sent without following redirects; the answer's status is all that is read."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, AsyncIterator, NamedTuple

from ..version import __version__
from ..db.models import File, WebhookDelivery
from . import signing, targets

if TYPE_CHECKING:
    import httpx

USER_AGENT = f"Anclora-Webhooks/{__version__}"
MAX_ERROR = 500


class Outcome(NamedTuple):
    status_code: int | None = None  # the answer's, when one came
    error: str | None = None  # why no answer came
    refused: bool = False  # the target resolves to an address webhooks may not reach


class Unsendable(Exception):
    """The delivery cannot be sent as it stands (its body file is gone)."""


def new_client(ctx) -> "httpx.AsyncClient":
    """The HTTP client of one delivery loop: a timeout on every phase, redirects never followed, no proxies or
    credentials from the environment. (httpx is imported on the first delivery: a server that sends none
    stays without it, about 6 MiB.)"""
    import httpx

    return httpx.AsyncClient(timeout=ctx.settings.webhook_timeout, follow_redirects=False, trust_env=False,
                             headers={"User-Agent": USER_AGENT})


async def _body_file(ctx, row: WebhookDelivery) -> File:
    async with ctx.sessionmaker() as session:
        record = await session.get(File, row.body_file_id) if row.body_file_id else None
    if record is None:
        raise Unsendable("The file holding the body no longer exists.")
    return record


def _chunks(ctx, record: File) -> AsyncIterator[bytes]:
    return ctx.storage.read(record.storage_key, chunk_size=ctx.settings.chunk_size)


async def _headers(ctx, row: WebhookDelivery, record: File | None) -> dict[str, str]:
    headers = {"Content-Type": row.content_type, "Anclora-Delivery-Id": row.id, "Anclora-Event": row.event,
               **(row.headers or {})}
    if row.sign and row.user_id:
        keys, now = await signing.signing_keys(ctx, row.user_id), int(time.time())
        headers["Anclora-Signature"] = (signing.signature(keys, now, row.body or b"") if record is None
                                        else await signing.signature_of_stream(keys, now, _chunks(ctx, record)))
    return headers


async def send(ctx, client: "httpx.AsyncClient", row: WebhookDelivery) -> Outcome:
    """Make one attempt and say how it went."""
    import httpx

    try:
        await targets.check_target(ctx, row.url)
        record = await _body_file(ctx, row) if row.body_file_id else None
        headers = await _headers(ctx, row, record)
        content = _chunks(ctx, record) if record is not None else (row.body or b"")
        if record is not None:
            headers["Content-Length"] = str(record.size)
        async with client.stream(row.method, row.url, content=content, headers=headers) as response:
            return Outcome(response.status_code)  # (the answer's body is never read)
    except targets.TargetRefused as error:
        return Outcome(error=error.message[:MAX_ERROR], refused=True)
    except Unsendable as error:
        return Outcome(error=str(error))
    except httpx.TimeoutException:
        return Outcome(error=f"No answer within {ctx.settings.webhook_timeout:g} s.")
    except httpx.HTTPError as error:
        return Outcome(error=f"{type(error).__name__}: {error}"[:MAX_ERROR])
