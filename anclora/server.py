"""Running the server: settings → logging → context → schema check → app → listen → graceful stop."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time

import tornado.httpserver
import tornado.netutil

from . import __version__
from .app import make_app
from .config import Settings
from .context import AppContext, build_context
from .db import migrate
from .request_head import HEAD_BUFFER, HeadLimits

log = logging.getLogger("anclora")

READ_CHUNK = 256 * 1024  # measured: 27% less CPU per upload than 64 KiB for about 4 MiB more at 20 uploads
HEADER_BUFFER = 2 * 1024 * 1024  # Tornado's read buffer: headers and one body chunk, never a whole body
# Bodies Tornado buffers for ordinary JSON routes. Streaming handlers (uploads, webhooks) set their own limit in
# prepare(), before the body is read.
JSON_BODY_LIMIT = 1024 * 1024


class StartupError(Exception):
    """The server cannot start; the message is one line for the operator (no traceback)."""


class StaleSchema(StartupError):
    pass


def unreachable_database(database_url: str, error: Exception) -> StartupError:
    """One line naming DATABASE_URL (its password hidden) and the reason, without the driver's traceback."""
    from sqlalchemy.engine import make_url

    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0] if str(error).strip() else \
        type(error).__name__
    shown = make_url(database_url).render_as_string(hide_password=True)
    return StartupError(f"cannot reach the database at DATABASE_URL={shown}: {reason}")


def make_http_server(ctx: AppContext) -> tornado.httpserver.HTTPServer:
    return tornado.httpserver.HTTPServer(
        HeadLimits(make_app(ctx)),
        max_body_size=JSON_BODY_LIMIT,
        max_buffer_size=HEADER_BUFFER,
        max_header_size=HEAD_BUFFER,
        chunk_size=READ_CHUNK,
        idle_connection_timeout=ctx.settings.idle_timeout,
        xheaders=False,  # client addresses come from anclora.identity.client_address, for trusted proxies only
        decompress_request=False,
    )


async def prepare_database(ctx: AppContext, *, auto_migrate: bool) -> None:
    from sqlalchemy.exc import DBAPIError

    head = migrate.head()
    try:
        current = await migrate.current(ctx.engine)
    except (OSError, DBAPIError) as error:
        raise unreachable_database(ctx.settings.database_url, error) from None
    if auto_migrate and current != head:
        await upgrade_in_child(ctx.settings.database_url)
        current = await migrate.current(ctx.engine)
    if current != head:
        raise StaleSchema(
            f"the database schema is at {current or 'nothing'}, the code needs {head}: "
            "run `anclora db upgrade` (or `anclora serve --migrate`)")


async def upgrade_in_child(database_url: str) -> None:
    """`anclora db upgrade` in a child process, so Alembic never weighs on the serving process. (`-P`: a folder
    named `anclora` in the working directory, such as an upload folder, must not shadow the package.)"""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-P", "-m", "anclora", "db", "upgrade", env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.DEVNULL)
    if await process.wait() != 0:
        raise StaleSchema("the schema upgrade failed (see the messages above)")


async def serve(settings: Settings, *, auto_migrate: bool = False, ready: asyncio.Event | None = None) -> None:
    ctx = build_context(settings)
    try:
        await prepare_database(ctx, auto_migrate=auto_migrate)
        await ctx.start()
        server = make_http_server(ctx)
        sockets = tornado.netutil.bind_sockets(settings.port, settings.host)
        server.add_sockets(sockets)
        log.info("Anclora %s listening on http://%s:%s (database %s, storage %s)", __version__, settings.host,
                 sockets[0].getsockname()[1], ctx.engine.dialect.name, ctx.storage.root)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping: no new connections; waiting up to %ss for %d request(s)", settings.shutdown_grace,
                 ctx.in_flight)
        server.stop()
        deadline = time.monotonic() + settings.shutdown_grace
        while ctx.in_flight > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if ctx.in_flight:
            log.warning("grace period over with %d request(s) still running", ctx.in_flight)
    finally:
        await ctx.close()
    log.info("stopped")
