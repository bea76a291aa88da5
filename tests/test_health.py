"""Health, metrics, request ids and the JSON error shape."""

import asyncio
import re
import socket

import httpx
import pytest
import tornado.netutil

from anclora import config
from anclora.server import build_context, close
from anclora.server import make_http_server


async def test_health_reports_each_check(client, anclora_storage):
    response = await client.get("/api/health")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] in ("up", "degraded")
    assert data["checks"]["database"]["status"] == "up"
    storage = data["checks"]["storage"]
    assert storage["status"] in ("up", "degraded") and storage["backend"] == anclora_storage
    if anclora_storage == "local":  # a bucket has no free space to report
        assert storage["free_bytes"] > 0
    assert data["checks"]["cache"]["status"] == "up"
    assert "set-cookie" not in response.headers
    head = await client.head("/api/health")
    assert head.status_code == 200 and head.content == b""


@pytest.fixture
async def broken_server(tmp_path):
    """A server whose database and Redis are unreachable (closed ports)."""
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    settings = config.load(environ={}, dotenv=None, overrides={
        "database_url": f"postgresql://postgres@127.0.0.1:{port}/nothing",
        "redis_url": f"redis://127.0.0.1:{port}/0",
        "upload_folder": str(tmp_path / "uploads"), "plugins_entrypoints": False, "log_level": "CRITICAL"})
    ctx = build_context(settings)
    server = make_http_server(ctx)
    [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets([sock])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}") as http:
        yield http
    server.stop()
    await close(ctx)


async def test_health_is_503_down_when_the_database_is_unreachable(broken_server):
    response = await broken_server.get("/api/health")
    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "down"
    assert data["checks"]["database"]["status"] == "down"
    assert data["checks"]["cache"]["status"] == "down"


async def test_api_answers_503_json_when_the_database_is_unreachable(broken_server):
    response = await broken_server.post("/api/files", content=b"hello")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["Retry-After"]
    listing = await broken_server.get("/api/files")
    assert listing.status_code == 503


async def test_metrics_count_requests_and_upload_bytes(client):
    await client.post("/api/files", content=b"x" * 1000)
    await client.get("/api/nowhere")
    text = (await client.get("/api/metrics")).text
    assert 'anclora_http_requests_total{method="POST",route="FilesHandler",status="201"} 1.0' in text
    assert 'status="404"' in text
    assert re.search(r"^anclora_upload_bytes_total 1000\.0$", text, re.M)
    assert "anclora_conversions_total" in text and "anclora_quota_refusals_total" in text


async def test_request_id_is_echoed_or_generated(client):
    sent = await client.get("/api/health", headers={"X-Request-Id": "abc-123"})
    assert sent.headers["X-Request-Id"] == "abc-123"
    generated = await client.get("/api/files/not-a-uuid")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-Id"])
    hostile = await client.get("/api/health", headers={"X-Request-Id": "x" * 500})
    assert hostile.headers["X-Request-Id"] != "x" * 500


async def test_errors_are_json_with_stable_codes(client):
    missing = await client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert missing.headers["Content-Type"].startswith("application/json")
    wrong_method = await client.put("/api/health")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert "X-Request-Id" in wrong_method.headers


async def test_ordinary_routes_refuse_big_bodies_before_reading_them(anclora_server, client):
    from rawhttp import open_connection, request_head

    reader, writer = await open_connection(anclora_server)
    writer.write(request_head("POST", "/api/conversions", {"Content-Length": str(2 * 1024 * 1024),
                                                           "Content-Type": "application/json"}))
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)  # answered from the headers alone
    writer.close()
    assert status_line.split()[1] == b"400"
    upload = await client.post("/api/files", content=b"x" * (2 * 1024 * 1024))  # uploads keep their own limit
    assert upload.status_code == 201
