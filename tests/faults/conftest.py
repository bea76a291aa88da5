"""What the fault tests share: a TCP proxy on loopback that can be cut and mended, and a private redis-server.

Nothing here stops the shared PostgreSQL or Redis: a cut is the proxy's, a Redis that goes away is our own."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest
from backing_services import SHARED_POSTGRES, PrivateRedis
from server_process import free_port


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`. `cut()` resets every connection and closes the port (new
    connections are refused) until `mend()` opens it again."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.base_events.Server | None = None
        self._transports: set[asyncio.Transport] = set()

    async def start(self) -> "TcpProxy":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def cut(self) -> None:
        self._server.close()
        await self._server.wait_closed()
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()

    async def mend(self) -> None:
        await self.start()

    async def _serve(self, client_reader, client_writer) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._transports.update({client_writer.transport, upstream_writer.transport})
        await asyncio.gather(self._pump(client_reader, upstream_writer), self._pump(upstream_reader, client_writer))

    async def _pump(self, reader, writer) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._transports.discard(writer.transport)


@pytest.fixture
async def tcp_proxy():
    """`await tcp_proxy(host, port)` -> a started TcpProxy; all are closed afterwards."""
    proxies: list[TcpProxy] = []

    async def make(host: str, port: int) -> TcpProxy:
        proxies.append(await TcpProxy(host, port).start())
        return proxies[-1]
    yield make
    for proxy in proxies:
        await proxy.cut()


@pytest.fixture
def private_redis(tmp_path):
    folder = tmp_path / "redis"
    folder.mkdir()
    redis = PrivateRedis(folder)
    yield redis
    redis.stop()


def server_env(tmp_path: Path, database_url: str, **settings: str) -> dict[str, str]:
    """The environment ServerProcess gives the server, for the CLI commands run beside it."""
    from anclora.testing import TEST_JWT_SECRET

    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": database_url,
            "UPLOAD_FOLDER": str(tmp_path / "uploads"), "ANCLORA_PLUGINS_ENTRYPOINTS": "false",
            "JWT_SECRET_KEY": TEST_JWT_SECRET, "LOG_LEVEL": "WARNING", **settings}


@pytest.fixture
async def own_postgres():
    """A fresh, migrated PostgreSQL database of this test's own (on the test server, or the machine's shared one
    in the SQLite pass), dropped afterwards: (its URL, the server's host, the server's port)."""
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from anclora.db import create_engine, migrate

    server_url = make_url(os.environ.get("ANCLORA_TEST_DATABASE_URL") or SHARED_POSTGRES)
    name = f"anclora_fault_{uuid.uuid4().hex[:12]}"

    async def on_server(statement: str) -> None:
        admin = create_engine(server_url.render_as_string(hide_password=False))
        try:
            async with admin.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text(statement))
        finally:
            await admin.dispose()

    await on_server(f'CREATE DATABASE "{name}"')
    url = server_url.set(database=name)
    engine = create_engine(url.render_as_string(hide_password=False))
    await migrate.run(engine, "upgrade", "head")
    await engine.dispose()
    yield url, server_url.host or "127.0.0.1", server_url.port or 5432
    await on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
