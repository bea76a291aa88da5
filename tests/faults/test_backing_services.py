"""The database or Redis gone for a few seconds: clear 503s with Retry-After while they are away, and the server
recovers by itself when they are back (no restart). PostgreSQL is cut at a proxy of the test's own and Redis is a
private redis-server: the shared services stay up."""

import asyncio
import time

import httpx
import pytest

from anclora import config
from anclora.server import build_context, close, make_http_server, start
from anclora.testing import TEST_JWT_SECRET

CUT_SECONDS = 3


async def serve(settings):
    """A started context and a live server on a free port: (ctx, tornado server, base URL)."""
    import socket

    import tornado.netutil

    ctx = build_context(settings)
    await start(ctx)
    server = make_http_server(ctx)
    [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets([sock])
    return ctx, server, f"http://127.0.0.1:{sock.getsockname()[1]}"


async def until(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (result := await condition()):
        assert time.monotonic() < deadline, "no recovery"
        await asyncio.sleep(0.1)
    return result


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "service_unavailable" and int(response.headers["Retry-After"]) > 0


# PostgreSQL behind the test's own proxy, whichever backend the pass is for: running it twice adds nothing.
@pytest.mark.backend_independent
async def test_postgresql_cut_for_a_few_seconds(own_postgres, tcp_proxy, tmp_path):
    url, host, port = own_postgres
    proxy = await tcp_proxy(host, port)
    settings = config.load(environ={}, dotenv=None, overrides={
        "database_url": url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        "upload_folder": str(tmp_path / "uploads"), "plugins_entrypoints": False, "jwt_secret_key": TEST_JWT_SECRET,
        "log_level": "CRITICAL"})
    ctx, server, base = await serve(settings)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            created = await client.post("/api/files?filename=kept.txt", content=b"kept")
            assert created.status_code == 201
            await proxy.cut()
            for _ in range(CUT_SECONDS):  # (a few rounds, a second apart: within the uploads-per-minute limit)
                assert_unavailable(await client.get("/api/files"))
                assert_unavailable(await client.post("/api/files?filename=lost.txt", content=b"lost"))
                assert_unavailable(await client.get(f"/api/files/{created.json()['id']}"))
                await asyncio.sleep(1)
            health = await client.get("/api/health")
            assert health.status_code in (200, 503)  # (its answer may be the one shared a moment ago)
            await proxy.mend()

            async def listed():
                response = await client.get("/api/files")
                return response.status_code == 200 and response.json()["files"]
            files = await until(listed)
            assert [f["filename"] for f in files] == ["kept.txt"]
            assert (await client.post("/api/files?filename=after.txt", content=b"after")).status_code == 201
            assert (await until(lambda: _health_up(client)))
    finally:
        server.stop()
        await server.close_all_connections()
        await close(ctx)


async def _health_up(client) -> bool:
    return (await client.get("/api/health")).status_code == 200


async def test_redis_gone_then_back(private_redis, anclora_settings):
    """The documented fallback (docs/accounts.md): counters that guard money and brute force fail closed with 503
    and Retry-After, uploads and downloads go on; once Redis is back, so is everything else."""
    private_redis.start()
    ctx, server, base = await serve(anclora_settings.replace(redis_url=private_redis.url))
    credentials = {"email": "back@example.org", "password": "long enough password"}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            assert (await client.post("/api/auth/register", json=credentials)).status_code == 201
            private_redis.stop()
            assert_unavailable(await client.post("/api/auth/login", json=credentials))
            uploaded = await client.post("/api/files?filename=a.txt", content=b"still works")
            assert uploaded.status_code == 201
            assert (await client.get(f"/api/files/{uploaded.json()['id']}/content")).content == b"still works"

            async def degraded():
                return (await client.get("/api/health")).json()["checks"]["cache"]["status"] == "down"
            await until(degraded)
            private_redis.start()

            async def logged_in():
                return (await client.post("/api/auth/login", json=credentials)).status_code == 200
            await until(logged_in)
    finally:
        server.stop()
        await server.close_all_connections()
        await close(ctx)
