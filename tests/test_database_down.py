"""The database unreachable: every route answers 503 service_unavailable with Retry-After (or works without it),
health hides the driver's words from strangers, and `anclora serve` stops with one line naming DATABASE_URL."""

import re
import socket
import subprocess
import sys
import uuid

import httpx
import pytest
import tornado.netutil

from anclora import config
from anclora.accounts import tokens
from anclora.app import collect_routes
from anclora.server import build_context, close, make_http_server
from anclora.testing import TEST_JWT_SECRET
from server_process import free_port

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
async def no_database(tmp_path):
    """A server whose PostgreSQL is at a closed port (Redis not configured): (its context, a client)."""
    settings = config.load(environ={}, dotenv=None, overrides={
        "database_url": f"postgresql://anclora:secret@127.0.0.1:{free_port()}/anclora_private",
        "upload_folder": str(tmp_path / "uploads"), "plugins_entrypoints": False, "log_level": "CRITICAL",
        "jwt_secret_key": TEST_JWT_SECRET})
    ctx = build_context(settings)
    server = make_http_server(ctx)
    [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets([sock])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=30) as http:
        yield ctx, http
    server.stop()
    await close(ctx)


def requests_for(ctx):
    """(method, path) for every method of every route, ids filled with a random uuid."""
    for pattern, handler, *_ in collect_routes(ctx):
        path = re.sub(r"\([^)]*\)", str(uuid.uuid4()), pattern).replace("/?", "/")
        for method in METHODS:
            if getattr(handler, method).__qualname__.split(".")[0] != "RequestHandler":
                yield method.upper(), path


async def test_every_route_answers_503_with_retry_after(no_database):
    ctx, http = no_database
    bearer = {"Authorization": f"Bearer {tokens.issue_access(ctx.settings, str(uuid.uuid4()))}"}
    unavailable = 0
    for credentials in ({}, bearer, {"X-API-Key": "ak_" + "x" * 40}):
        for method, path in requests_for(ctx):
            body = b"{}" if method in ("POST", "PUT", "PATCH") else None
            response = await http.request(method, path, content=body, headers={
                **credentials, "Content-Type": "application/json", "Tus-Resumable": "1.0.0",
                "Upload-Length": "10", "Upload-Offset": "0"})
            where = f"{method} {path} ({', '.join(credentials) or 'anonymous'})"
            assert response.status_code < 500 or response.status_code == 503, f"{where}: {response.text}"
            if response.status_code == 503:
                unavailable += 1
                assert response.headers.get("Retry-After"), where
                if path != "/api/health":
                    assert response.json()["error"]["code"] == "service_unavailable", where
    assert unavailable > 40  # (most routes need the database; formats, plugins, metrics and openapi do not)


async def test_health_keeps_driver_details_from_strangers(no_database):
    _, http = no_database
    response = await http.get("/api/health")
    assert response.status_code == 503 and response.headers["Retry-After"]
    database = response.json()["checks"]["database"]
    assert database == {"status": "down", "error": "unreachable"}
    assert "anclora_private" not in response.text and "asyncpg" not in response.text.lower()


def test_serve_names_database_url_when_it_cannot_connect(tmp_path):
    closed = f"postgresql://anclora:secret@127.0.0.1:{free_port()}/anclora"
    result = subprocess.run([sys.executable, "-m", "anclora", "serve", "--migrate"], cwd=tmp_path, timeout=120,
                            capture_output=True, text=True, env={
                                "PATH": "/usr/bin:/bin", "DATABASE_URL": closed, "ANCLORA_PORT": str(free_port()),
                                "UPLOAD_FOLDER": str(tmp_path / "uploads"), "JWT_SECRET_KEY": TEST_JWT_SECRET,
                                "ANCLORA_PLUGINS_ENTRYPOINTS": "false", "LOG_LEVEL": "WARNING"})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DATABASE_URL" in lines[0], result.stderr
    assert "secret" not in lines[0]  # the password stays out of the message
    assert "Traceback" not in result.stderr


async def test_health_shows_why_a_check_failed_to_administrators_only(anclora_settings):
    """Redis at a closed port: the cache check fails; an administrator's API key sees the driver's words."""
    from anclora.accounts import apikeys, service

    ctx = build_context(anclora_settings.replace(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    admin = await service.create_admin(ctx, "root@example.org", "long enough password")
    key = (await apikeys.create(ctx, admin.id, "monitor"))["key"]
    server = make_http_server(ctx)
    [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets([sock])
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}") as http:
            stranger = (await http.get("/api/health")).json()["checks"]["cache"]
            shown = (await http.get("/api/health", headers={"X-API-Key": key})).json()["checks"]["cache"]
    finally:
        server.stop()
        await close(ctx)
    assert stranger == {"status": "down", "error": "unreachable"}
    assert shown["status"] == "down" and "Error" in shown["error"] and shown["error"] != "unreachable"
