"""What the webhook tests share: a real HTTP listener on 127.0.0.1 that keeps every request it receives and answers
as the test scripts it, a receiver's signature check, the server's settings, and the client calls they repeat."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import socket
import time
import uuid

import tornado.httpserver
import tornado.netutil
import tornado.web

from plugin_folders import JOBS as SAMPLE_PLUGINS
from plugin_folders import bundled_plugin_names

PASSWORD = "correct horse battery staple"


def fast_delivery() -> dict:
    """Settings: the small converters of tests/plugins/jobs, loopback targets allowed, short backoffs."""
    return {"plugins_dirs": [str(SAMPLE_PLUGINS)], "plugins_block": bundled_plugin_names(),
            "webhook_private_targets": True, "webhook_backoff_seconds": 0.5, "webhook_poll_seconds": 0.1,
            "shutdown_grace": 2.0}


async def signed_in(client) -> dict:
    """Register an account and sign the client's requests with its token."""
    email = f"hooks-{uuid.uuid4().hex[:10]}@example.org"
    response = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return response.json()["user"]


async def until_async(condition, timeout: float = 20.0):
    """Poll an async `condition()` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await condition()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return value


@dataclasses.dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived


class _Handler(tornado.web.RequestHandler):
    def initialize(self, listener: "Listener") -> None:
        self.listener = listener

    async def _receive(self) -> None:
        request = self.request
        self.listener.received.append(Received(request.method, request.path, dict(request.headers),
                                               request.body, time.time()))
        if self.listener.delay:
            await asyncio.sleep(self.listener.delay)  # (a receiver slower than the sender's timeout)
        status = self.listener.next_status(request.headers.get("Anclora-Delivery-Id"))
        self.set_status(status)
        if 300 <= status < 400:
            self.set_header("Location", "/elsewhere")
        self.finish("ok")

    post = put = patch = _receive


class Listener:
    """`statuses`: the answers to give, in order; once used up, 200. `first_answer`: the answer to the first
    request of each delivery (by its `Anclora-Delivery-Id`), whatever the order they come in."""

    def __init__(self, statuses: list[int] | None = None):
        self.statuses = list(statuses or [])
        self.first_answer: int | None = None
        self.delay = 0.0  # seconds before answering
        self.received: list[Received] = []
        self.connections = 0

    def next_status(self, delivery_id: str | None) -> int:
        if self.first_answer is not None:
            seen = sum(1 for received in self.received if received.headers.get("Anclora-Delivery-Id") == delivery_id)
            return self.first_answer if seen == 1 else 200
        return self.statuses.pop(0) if self.statuses else 200

    async def start(self) -> None:
        app = tornado.web.Application([(r"/.*", _Handler, {"listener": self})], log_function=lambda _: None)
        self.server = tornado.httpserver.HTTPServer(app)
        [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        self.port = sock.getsockname()[1]
        self.server.add_sockets([sock])
        self.url = f"http://127.0.0.1:{self.port}/hook"
        original = self.server.handle_stream

        def counting(stream, address):
            self.connections += 1
            return original(stream, address)
        self.server.handle_stream = counting

    def stop(self) -> None:
        self.server.stop()

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} webhook requests arrived"
            await asyncio.sleep(0.02)
        return self.received


def verify(secret: str, header: str, body: bytes) -> bool:
    """How a receiver checks `Anclora-Signature: t=<unix>,v1=<hex>[,v1=<hex>]` with its secret."""
    parts = [part.split("=", 1) for part in header.split(",")]
    timestamp = next(value for key, value in parts if key == "t")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(key == "v1" and hmac.compare_digest(value, expected) for key, value in parts)
