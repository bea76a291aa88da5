"""What Tornado leaves unanswered, answered before any handler runs: 431 JSON for an oversized request head,
408 JSON for a buffered body that stops arriving.

Tornado only caps the whole head (`max_header_size`), and past that cap it closes the connection without a word.
So the cap is set well above these limits (HEAD_BUFFER) and the limits are checked here, where an answer can
still be written: Apache's defaults, which clients and proxies have long lived with. Tornado has no idle timeout
for a body it buffers (JSON routes) at all; streamed bodies (uploads) keep their own, in UploadHandler.
"""

from __future__ import annotations

import json
import logging

from tornado import httputil
from tornado.ioloop import IOLoop

log = logging.getLogger("anclora.http")

MAX_REQUEST_LINE = 8190
MAX_FIELD_BYTES = 8190
MAX_FIELDS = 100
HEAD_BUFFER = 1024 * 1024  # Tornado's cap: 100 fields of 8 KiB and the request line fit below it


def oversized(start_line: httputil.RequestStartLine, headers: httputil.HTTPHeaders) -> str | None:
    """Why this head is refused, or None."""
    line = len(start_line.method) + len(start_line.path) + len(start_line.version) + 2
    if line > MAX_REQUEST_LINE:
        return f"The request line is {line} bytes long; at most {MAX_REQUEST_LINE} are accepted."
    fields = list(headers.get_all())
    if len(fields) > MAX_FIELDS:
        return f"The request has {len(fields)} header fields; at most {MAX_FIELDS} are accepted."
    longest = max((len(name) + len(value) + 2 for name, value in fields), default=0)
    if longest > MAX_FIELD_BYTES:
        return f"A header field is {longest} bytes long; at most {MAX_FIELD_BYTES} are accepted."
    return None


class HeadLimits(httputil.HTTPServerConnectionDelegate):
    """Wraps the application: each request's head is checked before the application sees it, and a buffered
    body that is silent for `idle_timeout` seconds is answered 408."""

    def __init__(self, application: httputil.HTTPServerConnectionDelegate, idle_timeout: float):
        self.application, self.idle_timeout = application, idle_timeout

    def start_request(self, server_conn, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        return _CheckedRequest(self.application.start_request(server_conn, request_conn), request_conn,
                               self.idle_timeout)

    def on_close(self, server_conn) -> None:
        self.application.on_close(server_conn)


class _CheckedRequest(httputil.HTTPMessageDelegate):
    def __init__(self, delegate: httputil.HTTPMessageDelegate, connection: httputil.HTTPConnection,
                 idle_timeout: float):
        self.delegate, self.connection, self.idle_timeout = delegate, connection, idle_timeout
        self.refused = False
        self.start_line = None
        self._timer = None
        self._last = 0.0

    def headers_received(self, start_line, headers):
        self.start_line = start_line
        reason = oversized(start_line, headers)
        if reason is not None:
            self._refuse(431, "Request Header Fields Too Large", "headers_too_large", reason)
            return None
        answer = self.delegate.headers_received(start_line, headers)
        streamed = getattr(getattr(self.delegate, "delegate", None), "stream_request_body", False)
        if not streamed and (headers.get("Content-Length", "0") != "0" or "Transfer-Encoding" in headers):
            self._touch()
        return answer

    def _touch(self) -> None:
        """Note activity; one timer per body, re-armed only when it fires early (cheaper than per chunk)."""
        self._last = IOLoop.current().time()
        if self._timer is None:
            self._timer = IOLoop.current().call_at(self._last + self.idle_timeout, self._check_idle)

    def _check_idle(self) -> None:
        self._timer = None
        if self.refused:
            return
        if IOLoop.current().time() < self._last + self.idle_timeout:
            self._timer = IOLoop.current().call_at(self._last + self.idle_timeout, self._check_idle)
            return
        self._refuse(408, "Request Timeout", "request_timeout",
                     f"No part of the body arrived for {self.idle_timeout:g} s.")

    def _stop_timer(self) -> None:
        if self._timer is not None:
            IOLoop.current().remove_timeout(self._timer)
            self._timer = None

    def _refuse(self, status: int, reason: str, code: str, message: str) -> None:
        """Answer now and close the connection once the answer is out (Tornado does, the body being unread)."""
        self.refused = True
        self._stop_timer()
        log.warning("%s %s -> %s %s: %s", self.start_line.method, self.start_line.path[:80], status, code, message)
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        self.connection.write_headers(
            httputil.ResponseStartLine("HTTP/1.1", status, reason),
            httputil.HTTPHeaders({"Content-Type": "application/json; charset=utf-8",
                                  "Content-Length": str(len(body)), "Connection": "close"}), body)
        self.connection.finish()

    def data_received(self, chunk: bytes):
        if self.refused:
            return None
        if self._timer is not None:
            self._last = IOLoop.current().time()
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
        self._stop_timer()
        if not self.refused:
            self.delegate.finish()

    def on_connection_close(self) -> None:
        self._stop_timer()
        if not self.refused:
            self.delegate.on_connection_close()
