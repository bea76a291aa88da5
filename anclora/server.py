"""Running the server: settings → plugin manager → context → schema check → plugins started → app → listen →
graceful stop. The context is built here, from the bottom up, and nowhere else."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time

import tornado.httpserver
import tornado.netutil

from .version import __version__
from . import db, mail, plugins
from .app import make_app
from .config import Settings
from .context import AppContext
from .conversion.planner import Planner
from .conversion.registry import collect_converters
from .counters import Counters
from .db import migrate
from .jobs.events import Notifier
from .metrics import Metrics
from .request_head import HEAD_BUFFER, HeadLimits
from .scanning import Clamd
from .storage.local import LocalStorage

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


def build_context(settings: Settings) -> AppContext:
    """Every core service, from settings: the plugins and their settings (checked before any connection is
    made), the converters, the database, the cache, storage."""
    pm = plugins.make_plugin_manager(settings)
    settings = settings.with_plugins(plugins.declared_settings(pm))
    scanner = Clamd.from_settings(settings)
    converters = collect_converters(pm)
    engine = db.create_engine(settings.database_url, statement_timeout_ms=settings.db_statement_timeout)
    redis = None
    if settings.redis_url:
        import redis.asyncio as aioredis

        redis = aioredis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    return AppContext(
        settings=settings,
        pm=pm,
        engine=engine,
        sessionmaker=db.create_sessionmaker(engine),
        storage=LocalStorage(settings.upload_folder),
        metrics=Metrics(),
        counters=Counters(redis),
        converters=converters,
        planner=Planner.from_available(converters),
        events=Notifier(),
        redis=redis,
        scanner=scanner,
    )


async def start(ctx: AppContext) -> None:
    """Start the plugins (pools, the executor); the first failure stops the start."""
    await plugins.start(ctx.pm, "anclora_startup", ctx=ctx)


async def close(ctx: AppContext) -> None:
    """Stop the plugins (each one's failure logged, never keeping the others from stopping), then the services."""
    try:
        await plugins.notify(ctx.pm, "anclora_shutdown", ctx=ctx)
        await mail.drain(ctx)
    finally:
        if ctx.redis is not None:
            await ctx.redis.aclose()
        await ctx.engine.dispose()


def unreachable_database(database_url: str, error: Exception) -> StartupError:
    """One line naming DATABASE_URL (its password hidden) and the reason, without the driver's traceback."""
    from sqlalchemy.engine import make_url

    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0] if str(error).strip() else \
        type(error).__name__
    shown = make_url(database_url).render_as_string(hide_password=True)
    return StartupError(f"cannot reach the database at DATABASE_URL={shown}: {reason}")


def make_http_server(ctx: AppContext) -> tornado.httpserver.HTTPServer:
    return tornado.httpserver.HTTPServer(
        HeadLimits(make_app(ctx), ctx.settings.idle_timeout),
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
        await start(ctx)
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
                 ctx.requests.count)
        server.stop()
        deadline = time.monotonic() + settings.shutdown_grace
        while ctx.requests.count > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if ctx.requests.count:
            log.warning("grace period over with %d request(s) still running", ctx.requests.count)
    finally:
        await close(ctx)
    log.info("stopped")
