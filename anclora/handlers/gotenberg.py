"""Gotenberg's routes (`/forms/...`, `/health`, `/version`), answered as Gotenberg answers: the result file, or
the status with a plain-text message; `Gotenberg-Trace` is echoed and used as the request id."""

from __future__ import annotations

import base64
import binascii
import logging
import uuid

import tornado.web

from .. import __version__, files
from ..errors import AncloraError, BadRequest, Unauthorized
from ..gotenberg import errors, webhook
from ..gotenberg.form import GotenbergForm
from ..gotenberg.health import gotenberg_health
from ..gotenberg.chromium import CHROMIUM_ROUTES
from ..gotenberg.pdftools import PDF_TOOL_ROUTES
from ..gotenberg.routes import ROUTES as OTHER_ROUTES
from ..gotenberg.routes import Answer
from ..gotenberg.work import SIDE_FIELDS, Work
from .base import APIHandler
from .files import send_file
from .health import shared_report, without_details
from .streaming import UploadHandler

log = logging.getLogger("anclora.gotenberg")
ROUTES = {**OTHER_ROUTES, **CHROMIUM_ROUTES, **PDF_TOOL_ROUTES}
TRACE = "Gotenberg-Trace"
TEXT = "text/plain; charset=UTF-8"


class GotenbergMixin:
    """Request id from `Gotenberg-Trace`, credentials as Gotenberg clients send them, plain-text errors."""

    request_id_header = TRACE

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header(TRACE, self.request_id)

    async def _identify(self):
        """HTTP Basic whose password is an API key counts as `X-API-Key`; the user name is not used."""
        scheme, _, encoded = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")[2]
            except (binascii.Error, UnicodeDecodeError):
                raise Unauthorized("Unauthorized") from None
            del self.request.headers["Authorization"]
            self.request.headers["X-API-Key"] = password
        return await super()._identify()

    def error_bytes(self, error: AncloraError) -> bytes:
        self.set_status(errors.status_of(error))
        for name, value in error.headers.items():
            self.set_header(name, value)
        self.set_header("Content-Type", TEXT)
        return errors.message_of(error).encode()


@tornado.web.stream_request_body
class FormHandler(GotenbergMixin, UploadHandler):
    """`POST /forms/<route>`: the files stream into storage, each step is a job, the result comes back."""

    def initialize(self, ctx, route: str) -> None:
        super().initialize(ctx)
        self.route = route

    async def prepare(self) -> None:
        await super().prepare()
        await self.start_upload()
        try:
            self.webhook = webhook.requested(self.request.headers, self.request_id)
            if self.webhook is not None:
                await webhook.check(self.ctx, self.identity, self.webhook)
        except AncloraError as error:
            self.refuse(error)  # answered now; the body is read and dropped so the client sees the answer

    def make_upload(self, content_type: str, limit: int) -> GotenbergForm:
        return GotenbergForm(self.ctx.storage, content_type, limit)

    async def post(self) -> None:
        """Run the route on the uploaded files; answer with its PDF, zip or JSON, or with 204 at once when a
        webhook is to receive the result."""
        work = Work(self.ctx, self.identity, self.ctx.settings.sync_timeout)
        inputs = await self._inputs(work)
        if self.webhook is not None:
            self.set_status(204)
            self.finish()
            webhook.in_background(self.ctx, self._for_webhook(work, inputs))
            return
        result = None
        try:
            result = await ROUTES[self.route](work, inputs, self.form_fields)
        finally:
            await work.discard(keep=result.record if result else None)
        await self._send(work, result)

    async def _for_webhook(self, work: Work, inputs: list) -> None:
        """Run the route and queue its result or its error (after the 204)."""
        result = None
        try:
            result = await ROUTES[self.route](work, inputs, self.form_fields)
            if result.record is None:
                raise BadRequest("The webhook middleware can only work with multipart/form-data routes that "
                                 "results in output files")
            await webhook.deliver_result(self.ctx, self.identity, self.webhook, result.record,
                                         self.output_filename(result.record.format))
        except AncloraError as error:
            await webhook.deliver_error(self.ctx, self.identity, self.webhook, errors.status_of(error),
                                        errors.message_of(error))
        except Exception:
            log.exception("Gotenberg webhook request %s failed", self.request_id)
            await webhook.deliver_error(self.ctx, self.identity, self.webhook, 500, "Internal Server Error")
        finally:
            await work.discard(keep=result.record if result else None)

    async def _inputs(self, work: Work) -> list:
        """The uploaded files as File rows of the caller (tracked by `work`, so removed with the rest)."""
        self._stop_timer()
        if self.refused:
            raise tornado.web.Finish()
        form, self.upload = self.upload, None
        try:
            parts = await form.commit()
        except BaseException:
            form.abort()
            raise
        self.form_fields, work.repeated = form.fields, form.repeated
        records, created = [], 0
        try:
            for part in parts:
                record = await files.create(self.ctx, self.identity, key=part.writer.key, size=part.writer.size,
                                            sha256=part.writer.sha256, filename=part.filename,
                                            declared_type=part.declared_type)
                work.track(record)
                created += 1
                if part.field in SIDE_FIELDS:
                    work.side_files.setdefault(part.field, []).append(record)
                else:
                    records.append(record)
        except BaseException:  # (one part refused, by the scanner say: the request keeps none of them)
            await work.discard()
            for part in parts[created + 1:]:
                await self.ctx.storage.delete(part.writer.key)
            raise
        return records

    async def _send(self, work: Work, result: Answer) -> None:
        if result.record is None:
            self.write_json(result.json)
            return
        try:
            await send_file(self, result.record, filename=self.output_filename(result.record.format))
        finally:
            await work.discard()

    def output_filename(self, fmt: str) -> str:
        """`Gotenberg-Output-Filename` with the extension added (as Gotenberg does), else a fresh name."""
        wanted = self.request.headers.get("Gotenberg-Output-Filename", "").strip()
        return f"{wanted or uuid.uuid4()}.{fmt}"


class HealthHandler(GotenbergMixin, APIHandler):
    quiet_access_log = True

    async def prepare(self) -> None:
        pass  # no identity, no session: monitors call this

    async def get(self) -> None:
        """`{"status": "up"|"down", "details": {...}}`; 503 (with Retry-After) when down. Why a check failed is
        not shown: drivers name hosts and databases."""
        health = gotenberg_health(without_details(await shared_report(self.ctx)))
        status = 503 if health["status"] == "down" else 200
        if status == 503:
            self.set_header("Retry-After", "5")
        if self.request.method == "HEAD":
            self.set_status(status)
            self.finish()
        else:
            self.write_json(health, status)

    async def head(self) -> None:
        await self.get()


class VersionHandler(GotenbergMixin, APIHandler):
    async def prepare(self) -> None:
        pass

    async def get(self) -> None:
        """The server's version as plain text."""
        self.set_header("Content-Type", TEXT)
        self.finish(__version__)


gotenberg_handlers = [
    *[(rf"/forms/{route}", FormHandler, {"route": route}) for route in ROUTES],
    (r"/health", HealthHandler),
    (r"/version", VersionHandler),
]
