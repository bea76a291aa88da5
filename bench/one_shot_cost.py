"""The fixed cost of a one-shot conversion, counted: SQL statements, commits and round trips per `POST /api/convert`.

    .venv/bin/python bench/one_shot_cost.py [--conversions N] [--cache | --plain]

Runs the application in this process (SQLite, the bundled plugins, an anonymous caller), converts a small PNG to
JPEG N times through `POST /api/convert` (`cache=false` unless `--cache`, which then measures cache hits), and
prints the statements SQLite ran per conversion by kind (as its trace callback sees them), the commits, the round
trips to the database (each call aiosqlite hands to its thread: cursor, execute, fetch, close, commit, rollback, or
one function doing several), the median request time and the median CPU time of this process per conversion (the
server and its client, every thread; not the forked image worker). The idle executor's poll (one claim a second)
is counted too: it is what a quiet server pays between conversions. PYTHONPATH=<another tree> measures that tree.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import io
import socket
import statistics
import tempfile
import time

import aiosqlite
import httpx
import tornado.netutil

from anclora import config
from anclora.db import create_engine, migrate
from anclora.server import build_context, close, make_http_server, start

LIMITS = {"anonymous": {"conversions_per_day": 10**6, "free_conversions_per_day": 10**6,
                        "uploads_per_minute": 10**6, "concurrent_jobs": 10}}


async def started_app(work: str):
    url = f"sqlite:///{work}/anclora.db"
    engine = create_engine(url)
    await migrate.run(engine, "upgrade", "head")
    await engine.dispose()
    settings = config.load(environ={}, dotenv=None, overrides={
        "database_url": url, "upload_folder": f"{work}/uploads", "jwt_secret_key": "bench-" + "x" * 40,
        "plugins_entrypoints": False, "log_level": "WARNING", "plan_limits": LIMITS})
    ctx = build_context(settings)
    await start(ctx)
    return ctx


def small_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise((320, 240), 40).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def count_database_work(trips: collections.Counter, statements: collections.Counter, commits: list) -> None:
    """Count every call aiosqlite hands to its database thread, by name, and every statement SQLite runs (as its
    trace callback sees them, whoever issued them: SQLAlchemy, or `anclora.db.direct`); a measuring wrapper,
    this process only."""
    handed, traced = aiosqlite.Connection._execute, set()

    def trace(sql: str) -> None:
        words = sql.split()
        if words[0].upper() == "COMMIT":
            commits[0] += 1
        elif words[0].upper() not in ("BEGIN", "ROLLBACK", "PRAGMA"):
            statements[" ".join(words[:3] if words[0] != "WITH" else ["claim", "(WITH", "...)"])] += 1

    async def counted(self, fn, *args, **kwargs):
        if id(self) not in traced and self._connection is not None:
            traced.add(id(self))
            await handed(self, self._connection.set_trace_callback, trace)
        trips[getattr(fn, "__name__", "call")] += 1
        return await handed(self, fn, *args, **kwargs)

    aiosqlite.Connection._execute = counted


async def measure(conversions: int, cache: bool | None) -> None:
    ctx = await started_app(tempfile.mkdtemp(prefix="anclora-bench-cost-"))
    statements, commits, trips = collections.Counter(), [0], collections.Counter()
    count_database_work(trips, statements, commits)
    server = make_http_server(ctx)
    [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets([sock])
    data, seconds, cpu = small_png(), [], []
    params = {"to": "jpeg", "filename": "small.png", **({} if cache is None else {"cache": str(cache).lower()})}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=60) as http:
            (await http.post("/api/convert", params=params, content=data)).raise_for_status()  # warm-up
            statements.clear()
            trips.clear()
            commits[0] = 0
            for _ in range(conversions):
                started, cpu_before = time.perf_counter(), time.process_time()
                (await http.post("/api/convert", params=params, content=data)).raise_for_status()
                seconds.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_before)
    finally:
        server.stop()
        await close(ctx)
    print(f"{conversions} one-shot png -> jpeg (320x240), cache={ {True: 'on', False: 'off', None: '-'}[cache]}: "
          f"{sum(statements.values()) / conversions:.1f} statements, {commits[0] / conversions:.1f} commits and "
          f"{sum(trips.values()) / conversions:.1f} database round trips per conversion, median "
          f"{statistics.median(seconds) * 1000:.1f} ms, "
          f"{statistics.median(cpu) * 1000:.1f} ms of CPU in this process")
    for kind, number in statements.most_common():
        print(f"  {number / conversions:4.1f}  {kind}")
    print("  round trips: " + ", ".join(f"{number / conversions:.1f} {kind}" for kind, number in trips.most_common()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversions", type=int, default=20)
    parser.add_argument("--cache", action="store_true", help="repeat one conversion: measure cache hits")
    parser.add_argument("--plain", action="store_true",
                        help="send no `cache` argument (PYTHONPATH=<an older tree>: measure it)")
    args = parser.parse_args()
    asyncio.run(measure(args.conversions, None if args.plain else args.cache))


if __name__ == "__main__":
    main()
