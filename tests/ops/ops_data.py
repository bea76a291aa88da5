"""A populated Anclora site for the backup tests: files uploaded through the real API, then compared."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import httpx
import tornado.netutil
from sqlalchemy import func, select

from anclora import config
from anclora.server import build_context, close, start
from anclora.db import create_engine, migrate
from anclora.db.base import Base
from anclora.server import make_http_server
from anclora.testing import TEST_JWT_SECRET


def site_settings(database_url: str, upload_folder: Path) -> config.Settings:
    return config.load(environ={}, dotenv=None, overrides={
        "database_url": database_url, "upload_folder": str(upload_folder), "redis_url": "",
        "jwt_secret_key": TEST_JWT_SECRET, "plugins_entrypoints": False, "log_level": "WARNING"})


async def populate(database_url: str, upload_folder: Path, files: int = 6) -> None:
    """Migrate the database, then upload files and register a user through a live server on it."""
    ctx = build_context(site_settings(database_url, upload_folder))
    await migrate.run(ctx.engine, "upgrade", "head")
    await start(ctx)
    server = make_http_server(ctx)
    [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets([sock])
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=60) as http:
            response = await http.post("/api/auth/register", json={"email": "backup@example.org",
                                                                   "password": "correct horse battery staple"})
            assert response.status_code == 201, response.text
            for number in range(files):
                body = os.urandom(1000 + number * 5000)
                response = await http.post(f"/api/files?filename=part{number}.bin", content=body,
                                            headers={"Content-Type": "application/octet-stream"})
                assert response.status_code == 201, response.text
    finally:
        server.stop()
        await server.close_all_connections()
        await close(ctx)


async def row_counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return {table.name: await connection.scalar(select(func.count()).select_from(table))
                    for table in Base.metadata.sorted_tables}
    finally:
        await engine.dispose()


def checksums(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}
