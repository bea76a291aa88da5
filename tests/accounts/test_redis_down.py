"""When Redis is configured but down, the counters that guard money and brute force fail closed: 503 with
Retry-After, never an uncounted pass (documented in anclora/accounts/counters.py and docs/accounts.md)."""

import socket

import httpx
import tornado.netutil

from anclora.server import build_context, close, start
from anclora.server import make_http_server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again: nothing listens there


async def test_limits_fail_closed_without_redis(anclora_settings):
    # Not the anclora_ctx fixture: it flushes Redis, which is the thing that is down here.
    ctx = build_context(anclora_settings.replace(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    await start(ctx)
    server = make_http_server(ctx)
    [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets([sock])
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}") as client:
            for path in ("/api/auth/login", "/api/auth/register"):
                response = await client.post(path, json={"email": "a@example.org", "password": "long password"})
                assert response.status_code == 503, response.text
                assert response.json()["error"]["code"] == "service_unavailable"
                assert int(response.headers["Retry-After"]) > 0
    finally:
        server.stop()
        await server.close_all_connections()
        await close(ctx)
