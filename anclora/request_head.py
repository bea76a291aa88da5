"""Limits on a request's head (its request line and header fields): 431 JSON before any handler runs.

Tornado only caps the whole head (`max_header_size`), and past that cap it closes the connection without a word.
So the cap is set well above these limits (HEAD_BUFFER) and the limits are checked here, where an answer can
still be written: Apache's defaults, which clients and proxies have long lived with.
"""

from __future__ import annotations

import json
import logging

from tornado import httputil

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
    """Wraps the application: each request's head is checked before the application sees it."""

    def __init__(self, application: httputil.HTTPServerConnectionDelegate):
        self.application = application

    def start_request(self, server_conn, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        return _CheckedRequest(self.application.start_request(server_conn, request_conn), request_conn)

    def on_close(self, server_conn) -> None:
        self.application.on_close(server_conn)


class _CheckedRequest(httputil.HTTPMessageDelegate):
    def __init__(self, delegate: httputil.HTTPMessageDelegate, connection: httputil.HTTPConnection):
        self.delegate, self.connection = delegate, connection
        self.refused = False

    def headers_received(self, start_line, headers):
        reason = oversized(start_line, headers)
        if reason is None:
            return self.delegate.headers_received(start_line, headers)
        self.refused = True
        log.warning("%s %s... -> 431: %s", start_line.method, start_line.path[:80], reason)
        body = json.dumps({"error": {"code": "headers_too_large", "message": reason}}).encode()
        self.connection.write_headers(
            httputil.ResponseStartLine("HTTP/1.1", 431, "Request Header Fields Too Large"),
            httputil.HTTPHeaders({"Content-Type": "application/json; charset=utf-8",
                                  "Content-Length": str(len(body)), "Connection": "close"}), body)
        self.connection.finish()
        return None

    def data_received(self, chunk: bytes):
        return None if self.refused else self.delegate.data_received(chunk)

    def finish(self) -> None:
        if not self.refused:
            self.delegate.finish()

    def on_connection_close(self) -> None:
        if not self.refused:
            self.delegate.on_connection_close()
