"""APIHandler: identity, request ids, JSON in and out, and the one place errors become JSON."""

from __future__ import annotations

import json
import logging
import math
import re
import time
import traceback
import uuid
from contextlib import aclosing
from typing import Any, AsyncIterator
from urllib.parse import urlsplit

import tornado.web
from tornado.iostream import StreamClosedError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from .. import accounts
from ..context import AppContext
from ..conversion.options import from_query, schema_errors
from ..errors import AncloraError, BadRequest, Forbidden, MethodNotAllowed, NotFound, ServiceUnavailable, Unauthorized
from ..identity import (SESSION_COOKIE, SESSION_HEADER, Identity, client_address, new_session_token,
                        session_id_for, valid_session_token)
from ..logs import request_id_var
from ..openapi import Operation, declared, implements

log = logging.getLogger("anclora.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNAVAILABLE_ERRORS = (OperationalError, PoolTimeout, ConnectionError, OSError)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _status_error(status: int) -> AncloraError:
    if status == 404:
        return NotFound()
    if status == 405:
        return MethodNotAllowed()
    error = AncloraError()
    error.status = status
    if status < 500:
        error.code, error.message = "bad_request", "The request is malformed."
    return error


def to_api_error(error: BaseException | None, status: int) -> AncloraError:
    """Any exception as the AncloraError to show the client."""
    if isinstance(error, AncloraError):
        return error
    if isinstance(error, DBAPIError) and error.connection_invalidated or isinstance(error, UNAVAILABLE_ERRORS):
        return ServiceUnavailable("A backing service is unavailable; try again shortly.",
                                  headers={"Retry-After": "5"})
    if isinstance(error, tornado.web.HTTPError):
        return _status_error(error.status_code)
    return _status_error(status)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: JSON has no infinity, and nothing here wants one
        raise ValueError(text)
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """A JSON document, strictly: no NaN or Infinity; too deep, or not JSON, is a 400."""
    try:
        return json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise BadRequest("The body is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body is not valid JSON.") from None


def checked(schema: dict[str, Any], value: Any, what: str) -> Any:
    """`value` when it fits the JSON Schema; else a 400 naming the first field that does not (all in details)."""
    errors = schema_errors(schema, value)
    if not errors:
        return value
    first = errors[0]
    where = f"{what} `{first['path']}`" if first["path"] else what
    raise BadRequest(f"Invalid {where}: {first['message']}.", details=errors)


def _any_text(spec: dict[str, Any]) -> bool:
    """A query parameter any text fits: nothing to check (uploads then never load jsonschema, 3 MiB)."""
    return spec.get("type") == "string" and set(spec) <= {"type", "description"}


def event_text(event: str | None, data: Any = None) -> str:
    """One Server-Sent Event with `data` as JSON; `event=None` is a keep-alive comment."""
    if event is None:
        return ": keep-alive\n\n"
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def cross_site(method: str, headers, host: str) -> bool:
    """Whether a browser sent this state-changing request from a page of another origin (CSRF). Requests
    without `Origin` (curl, server-side clients) are not browsers' cross-site requests and pass."""
    if method in SAFE_METHODS:
        return False
    if headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = headers.get("Origin")
    # Host names only: nginx's `$host` drops the port, and another port of the same host is the same site anyway.
    return origin is not None and urlsplit(origin).hostname != urlsplit("//" + host).hostname


class APIHandler(tornado.web.RequestHandler):
    """Each method declares what it takes and answers with `@operation` (anclora.openapi); `access` says who may
    call it: "public" (no credentials looked at), "anyone" (anonymous sessions too), "user", "admin"."""

    ctx: AppContext
    identity: Identity
    access = "anyone"
    _query: dict[str, Any] | None = None

    def initialize(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._started = time.monotonic()

    request_id_header = "X-Request-Id"  # the request header a client may send its own request id in

    @property
    def request_id(self) -> str:
        rid = getattr(self.request, "anclora_request_id", None)
        if rid is None:
            sent = self.request.headers.get(self.request_id_header, "")
            rid = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
            self.request.anclora_request_id = rid
        return rid

    def set_default_headers(self) -> None:
        self.set_header("X-Request-Id", self.request_id)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")
        self.clear_header("Server")
        if self.session_token:
            self.set_header(SESSION_HEADER, self.session_token)

    _session_token: str | None = None

    @property
    def session_token(self) -> str | None:
        """The anonymous session this answer names (`X-Anclora-Session`): the caller's, unless set otherwise."""
        return self._session_token

    @session_token.setter
    def session_token(self, token: str) -> None:
        self._session_token = token
        self.set_header(SESSION_HEADER, token)

    @property
    def client_address(self) -> str:
        return client_address(self.request.remote_ip or "", self.request.headers, self.ctx.settings.trusted_proxies)

    async def prepare(self) -> None:
        request_id_var.set(self.request_id)
        self.ctx.requests.started()
        self._counted = True
        if cross_site(self.request.method, self.request.headers, self.request.host):
            raise Forbidden("Requests from another site's pages may not change anything here.")
        if not implements(type(self), self.request.method.lower()):
            raise MethodNotAllowed()  # before anything a method would need (an upload, a session) is started
        self.identity = await self._identify()
        if self.access in ("user", "admin") and self.identity.is_anonymous:
            raise Unauthorized("Sign in first.")
        if self.access == "admin" and not self.identity.is_admin:
            raise Forbidden("Only administrators may do this.")
        self.query()

    async def _identify(self) -> Identity:
        address = self.client_address
        identity = await accounts.authenticate(self.ctx, self.request.headers, address)
        if identity is not None:
            return identity
        token = self.request.headers.get(SESSION_HEADER) or self.get_cookie(SESSION_COOKIE)
        if not valid_session_token(token):
            token = new_session_token()
        self.session_token = token
        self.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax",
                        secure=self.request.protocol == "https", expires_days=30)
        return Identity(address=address, session_id=session_id_for(token))

    # --- JSON -------------------------------------------------------------------------------------------------

    @property
    def operation(self) -> Operation | None:
        """What this request's method declared (anclora.openapi.operation)."""
        return declared(type(self), self.request.method.lower())

    def json_body(self) -> dict[str, Any]:
        """The JSON object sent, checked against the method's declared body schema."""
        body = parse_json(self.request.body or b"{}")
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object.")
        schema = self.operation and self.operation.body
        return checked(schema, body, "body field") if schema else body

    def query(self) -> dict[str, Any]:
        """The query parameters the method declares, typed, checked, defaults filled in (others are ignored)."""
        if self._query is None:
            schema = self.operation and self.operation.query or {}
            properties = schema.get("properties", {})
            arguments = {name: [value.decode("utf-8", "replace") for value in values]
                         for name, values in self.request.query_arguments.items() if name in properties}
            values = from_query(schema, arguments)
            if schema.get("required") or not all(map(_any_text, (properties[name] for name in values))):
                values = checked(schema, values, "query parameter")
            defaults = {name: spec["default"] for name, spec in properties.items() if "default" in spec}
            self._query = {**defaults, **values}
        return self._query

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    async def stream_events(self, messages: AsyncIterator[str]) -> None:
        """Answer with Server-Sent Events (`event_text`), each sent as it comes (nginx must pass them through at
        once), then finish; a client that went away ends the stream quietly."""
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("X-Accel-Buffering", "no")
        try:
            async with aclosing(messages):
                async for message in messages:
                    self.write(message)
                    await self.flush()
        except StreamClosedError:
            return
        self.finish()

    # --- errors -----------------------------------------------------------------------------------------------

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        error = to_api_error(exc_info[1] if exc_info else None, status_code)
        if self.ctx.settings.debug and exc_info and not isinstance(exc_info[1], AncloraError):
            body = self.error_body(error)
            body["error"]["traceback"] = traceback.format_exception(*exc_info)
            self.finish(json.dumps(body, ensure_ascii=False))
            return
        self.finish(self.error_bytes(error))

    def error_bytes(self, error: AncloraError) -> bytes:
        """Set the error's status and headers; return the body to send (the JSON error shape)."""
        return json.dumps(self.error_body(error), ensure_ascii=False).encode()

    def error_body(self, error: AncloraError) -> dict[str, Any]:
        """Set the error's status and headers; return its JSON body."""
        self.set_status(error.status)
        for name, value in error.headers.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        return error.body()

    def log_exception(self, typ, value, tb) -> None:
        error = to_api_error(value, 500)
        if isinstance(value, AncloraError) or isinstance(value, tornado.web.HTTPError):
            level = logging.WARNING if error.status >= 500 else logging.INFO  # (a full disk wants attention)
            log.log(level, "%s %s -> %s %s", self.request.method, self.request.path, error.status, error.code)
        elif error.status == 503:
            log.warning("%s %s -> 503: %s", self.request.method, self.request.path, value)
        else:
            log.error("%s %s failed", self.request.method, self.request.path, exc_info=(typ, value, tb))

    def _uncount(self) -> None:
        """This request no longer holds up a graceful shutdown (it ended, or its client went away)."""
        if getattr(self, "_counted", False):
            self.ctx.requests.ended()
            self._counted = False

    def on_connection_close(self) -> None:
        self._uncount()
        super().on_connection_close()

    def on_finish(self) -> None:
        self._uncount()
        route = type(self).__name__
        status = str(self.get_status())
        self.ctx.metrics.requests.labels(route, self.request.method, status).inc()
        self.ctx.metrics.latency.labels(route, self.request.method).observe(time.monotonic() - self._started)


class NotFoundHandler(APIHandler):
    """Every path no other handler serves."""

    async def prepare(self) -> None:
        raise NotFound(f"No such resource: {self.request.path}")
