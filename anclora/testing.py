"""pytest fixtures for Anclora and its plugin authors: `pytest_plugins = ["anclora.testing"]`.

The database and cache follow the environment, so one suite runs on both backends:
- ANCLORA_TEST_DATABASE_URL: a PostgreSQL server URL (postgresql://user@host:port/db); a fresh database is created
  for the test session and emptied between tests. Unset: a fresh SQLite file per test.
- ANCLORA_TEST_REDIS_URL: a Redis URL; its database is flushed between tests. Unset: no Redis.
- ANCLORA_TEST_STORAGE: `s3` puts every test's files in a bucket of a real S3 protocol server (moto's, on a free
  loopback port, started once per session; a fresh bucket per test). Unset or `local`: the local folder.
A test marked `@pytest.mark.storage_backends` runs twice whatever that says, on the local folder and on a bucket.
`anclora_storage` names the backend of the running test; `storage_environ(settings)` gives a process started by a
test (`anclora serve`, `anclora worker`) the same storage.

Fixtures: `anclora_settings` (override with `anclora_settings.replace(...)` in your own fixture named
`anclora_overrides`), `anclora_storage` (the backend; override it to return "s3" for S3-only tests, or "local" for
tests of the local disk), `anclora_s3_server` (moto's endpoint URL), `anclora_storage_environ` (the storage's
environment variables, for the processes a test starts), `anclora_ctx` (a started AppContext), `anclora_server` (a
live HTTP server, its base URL), `client` (an httpx.AsyncClient on it), and `convert_file` (run one converter on a
file, no server).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
import tornado.netutil
from sqlalchemy import text
from sqlalchemy.engine import make_url

from . import config
from .context import AppContext
from .conversion.converter import ConversionContext, Converter
from .db import create_engine
from .db import migrate
from .db.base import Base
from .engines.sandbox import verify_output
from .server import build_context, close, make_http_server, start

TEST_JWT_SECRET = "test-secret-" + "x" * 40
STORAGE_BACKENDS = ("local", "s3")


def default_storage() -> str:
    """The backend of every test not marked `storage_backends`: ANCLORA_TEST_STORAGE, else the local folder."""
    backend = os.environ.get("ANCLORA_TEST_STORAGE") or "local"
    if backend not in STORAGE_BACKENDS:
        raise pytest.UsageError(f"ANCLORA_TEST_STORAGE={backend!r}: expected one of {', '.join(STORAGE_BACKENDS)}")
    return backend


def _run(coro):
    return asyncio.run(coro)


async def _on_server(server_url: str, statement: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE) on the PostgreSQL server."""
    admin = create_engine(server_url)
    try:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await admin.dispose()


@pytest.fixture(scope="session")
def anclora_database_template(tmp_path_factory) -> str:
    """A migrated database for the session: a PostgreSQL database, or a SQLite file copied per test."""
    server_url = os.environ.get("ANCLORA_TEST_DATABASE_URL")
    if not server_url:
        path = tmp_path_factory.mktemp("db") / "template.db"
        url = f"sqlite:///{path}"
    else:
        name = f"anclora_test_{uuid.uuid4().hex[:12]}"
        _run(_on_server(server_url, f'CREATE DATABASE "{name}"'))
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)

    async def upgrade() -> None:
        engine = create_engine(url)
        await migrate.run(engine, "upgrade", "head")
        await engine.dispose()
    _run(upgrade())
    yield url
    if server_url:
        _run(_on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def anclora_database_url(anclora_database_template, tmp_path) -> str:
    """A database with the current schema and no rows."""
    if anclora_database_template.startswith("sqlite"):
        source = Path(make_url(anclora_database_template).database)
        target = tmp_path / "anclora.db"
        shutil.copy(source, target)
        return f"sqlite:///{target}"

    async def empty() -> None:
        engine = create_engine(anclora_database_template)
        async with engine.begin() as connection:
            # The session's database is this test's alone: a connection still open on it is a leftover of the
            # previous test (a background task that outlived its application), and TRUNCATE would wait for it.
            await connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                          "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {names} CASCADE"))
        await engine.dispose()
    _run(empty())
    return anclora_database_template


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "storage_backends: run the test on the local folder and on an S3 bucket")


def pytest_generate_tests(metafunc) -> None:
    if metafunc.definition.get_closest_marker("storage_backends") and "anclora_storage" in metafunc.fixturenames:
        metafunc.parametrize("anclora_storage", STORAGE_BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def anclora_s3_server() -> str:
    """The endpoint URL of moto's S3 server, in a thread of this process on a free loopback port."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def anclora_storage(request) -> str:
    """The storage backend of this test: each in turn for a `storage_backends` test, else `default_storage()`."""
    return getattr(request, "param", None) or default_storage()


@pytest.fixture
def anclora_storage_settings(anclora_storage, request) -> dict[str, Any]:
    """The settings that put the test's files in its backend: nothing for the local folder; for S3 a new bucket
    (emptied with the whole server after the test)."""
    if anclora_storage == "local":
        yield {}
        return
    from .storage.s3client import make_client

    endpoint = request.getfixturevalue("anclora_s3_server")
    bucket = f"anclora-test-{uuid.uuid4().hex[:12]}"
    credentials = {"s3_access_key_id": "testing", "s3_secret_access_key": "testing", "s3_region": "us-east-1"}
    client = make_client(endpoint, "us-east-1", "testing", "testing")
    client.create_bucket(Bucket=bucket)
    yield {"storage_url": f"s3://{bucket}/files", "s3_endpoint_url": endpoint, **credentials}
    httpx.post(f"{endpoint}/moto-api/reset")
    client.close()


def storage_environ(settings: config.Settings) -> dict[str, str]:
    """The environment variables that give a process started by a test the storage of `settings`."""
    environ = {"UPLOAD_FOLDER": settings.upload_folder}
    if settings.storage_url:
        environ.update(ANCLORA_STORAGE_URL=settings.storage_url, ANCLORA_S3_ENDPOINT_URL=settings.s3_endpoint_url,
                       AWS_REGION=settings.s3_region, AWS_ACCESS_KEY_ID=settings.s3_access_key_id,
                       AWS_SECRET_ACCESS_KEY=settings.s3_secret_access_key,
                       ANCLORA_S3_PART_SIZE=str(settings.s3_part_size))
    return environ


@pytest.fixture
def anclora_storage_environ(anclora_settings) -> dict[str, str]:
    """`storage_environ(anclora_settings)`: this test's storage, for the processes it starts."""
    return storage_environ(anclora_settings)


@pytest.fixture
def anclora_overrides() -> dict[str, Any]:
    """Override in a test module or conftest to change settings: return {"setting": value}."""
    return {}


@pytest.fixture
def anclora_settings(anclora_database_url, anclora_storage_settings, anclora_overrides, tmp_path) -> config.Settings:
    values = {
        "database_url": anclora_database_url,
        "upload_folder": str(tmp_path / "uploads"),
        "redis_url": os.environ.get("ANCLORA_TEST_REDIS_URL", ""),
        "jwt_secret_key": TEST_JWT_SECRET,
        "plugins_entrypoints": False,
        "log_level": "WARNING",
        **anclora_storage_settings,
    }
    values.update(anclora_overrides)
    return config.load(environ={}, overrides=values, dotenv=None)


@pytest.fixture
async def anclora_ctx(anclora_settings) -> AsyncIterator[AppContext]:
    ctx = build_context(anclora_settings)
    if ctx.redis is not None:
        await ctx.redis.flushdb()
    await start(ctx)
    try:
        yield ctx
    finally:
        await close(ctx)


@pytest.fixture
async def anclora_server(anclora_ctx) -> AsyncIterator[str]:
    """The base URL of a live server on a free loopback port."""
    server = make_http_server(anclora_ctx)
    [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets([sock])
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.stop()
        await server.close_all_connections()


@pytest.fixture
async def client(anclora_server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=anclora_server, timeout=120) as http:
        yield http


@pytest.fixture
def convert_file(tmp_path):
    """`await convert_file(converter, src_path, "pdf", options)` -> the output path, run as the server would
    (`report` receives the progress the converter reports)."""
    async def run(converter: Converter, src: Path, target: str, options: dict | None = None,
                  resources: dict | None = None, report=None) -> Path:
        workdir = tmp_path / f"job-{uuid.uuid4().hex[:8]}"
        workdir.mkdir()
        source = workdir / f"input.{src.suffix.lstrip('.') or 'bin'}"
        shutil.copy(src, source)
        dst = workdir / f"output.{target}"
        ctx = ConversionContext(workdir, source.suffix.lstrip("."), target, resources=resources, report=report)
        await converter.convert(source, dst, options or {}, ctx)
        verify_output(dst, target)  # as the host does after every step
        return dst
    return run
