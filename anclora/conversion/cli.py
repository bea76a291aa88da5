"""`anclora convert`, `anclora formats`, `anclora plugins`, `anclora worker`."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from .. import sniff
from ..errors import AncloraError, ConfigError


def _settings(args: argparse.Namespace):
    from ..cli import load_settings

    return load_settings(args)


def _pairs(pairs: list[str]) -> dict[str, list[str]]:
    """`--option k=v` pairs as query-style arguments (repeats allowed), typed later by the schema."""
    arguments: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise AncloraError(f"--option expects NAME=VALUE, got {pair!r}")
        arguments.setdefault(name, []).append(value)
    return arguments


class ProgressLine:
    """Progress on standard error, one line rewritten in place."""

    def __init__(self, label: str):
        self.label = label

    def __call__(self, percent: int) -> None:
        print(f"\r{self.label}: {percent:3d}%", end="", file=sys.stderr, flush=True)

    def done(self, message: str) -> None:
        print(f"\r{self.label}: 100% {message}", file=sys.stderr, flush=True)


def _output_path(args: argparse.Namespace, target: str) -> Path:
    out = Path(args.output) if args.output else Path(args.file).with_suffix(f".{target}")
    if out.resolve() == Path(args.file).resolve():
        raise AncloraError("the output would overwrite the input; choose another with -o")
    return out


async def _convert_locally(args: argparse.Namespace, settings) -> Path:
    from ..jobs.chain import run_route
    from ..plugins import make_plugin_manager
    from .options import from_query, validate
    from .planner import Planner
    from .registry import collect_converters

    planner = Planner.from_available(collect_converters(make_plugin_manager(settings)))
    src = Path(args.file)
    source = sniff.sniff(src, sniff.extension_of(src.name))
    route = planner.route(source, args.to)
    options = validate(route.options_schema, from_query(route.options_schema, _pairs(args.option)))
    out = _output_path(args, route.target)
    progress = ProgressLine(f"{src.name} -> {out.name} ({route.name})")
    with tempfile.TemporaryDirectory(prefix="anclora-convert-") as folder:
        workdir = Path(folder)
        shutil.copyfile(src, workdir / f"input.{route.source}")
        result = await run_route(route, workdir / f"input.{route.source}", workdir, options,
                                 default_timeout=settings.job_timeout, report=progress, resources={})
        shutil.move(result, out)
    progress.done(f"done, {out.stat().st_size} bytes")
    return out


async def _convert_on_server(args: argparse.Namespace) -> Path:
    import httpx

    src = Path(args.file)
    out = _output_path(args, sniff.normalize(args.to))
    size = src.stat().st_size
    progress = ProgressLine(f"{src.name} -> {args.server}")

    async def body():
        sent = 0
        with open(src, "rb") as handle:
            while chunk := handle.read(256 * 1024):
                sent += len(chunk)
                progress(int(100 * sent / size) if size else 100)
                yield chunk

    params = [("to", args.to), ("filename", src.name)] + [
        (name, value) for name, values in _pairs(args.option).items() for value in values]
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    async with httpx.AsyncClient(base_url=args.server, timeout=None, headers=headers) as http:
        async with http.stream("POST", "/api/convert", params=params, content=body(),
                               headers={"Content-Length": str(size)}) as response:
            if response.status_code != 200:
                error = json.loads(await response.aread()).get("error", {})
                raise AncloraError(f"{response.status_code} {error.get('code')}: {error.get('message')}")
            with open(out, "wb") as handle:
                async for chunk in response.aiter_bytes():
                    handle.write(chunk)
    progress.done(f"done, {out.stat().st_size} bytes")
    return out


def cmd_convert(args: argparse.Namespace) -> int:
    try:
        if args.server:
            out = asyncio.run(_convert_on_server(args))
        else:
            out = asyncio.run(_convert_locally(args, _settings(args)))
    except AncloraError as error:
        details = f" {json.dumps(error.details)}" if error.details else ""
        print(f"\nanclora: {error.message}{details}", file=sys.stderr)
        return 1
    print(out)
    return 0


async def _formats(args: argparse.Namespace) -> list[dict[str, Any]]:
    from ..context import build_context
    from ..identity import Identity
    from .catalog import formats
    from .planner import planner_for

    ctx = build_context(_settings(args))
    try:  # prices come from the pricing plugins, quoted as for an anonymous caller
        return formats(ctx, Identity(address="cli", session_id="cli"), planner_for(ctx))
    finally:
        await ctx.close()


def cmd_formats(args: argparse.Namespace) -> int:
    rows = asyncio.run(_formats(args))
    if args.json:
        print(json.dumps({"conversions": rows}, indent=2))
        return 0
    print(f"{'FROM':8} {'TO':8} {'COST':>4}  {'CONVERTER':32} VIA")
    for row in rows:
        print(f"{row['from']:8} {row['to']:8} {row['cost']:>4}  {row['converter']:32} {' '.join(row['via'])}")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from ..plugins import make_plugin_manager
    from .catalog import plugins
    from .registry import collect_converters

    pm = make_plugin_manager(_settings(args))
    data = plugins(pm, collect_converters(pm))
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    for plugin in data["plugins"]:
        print(f"{plugin['name']} {plugin['version'] or ''} ({plugin['origin']}): {', '.join(plugin['hooks'])}")
        for converter in plugin["converters"]:
            state = "available" if converter["available"] else f"unavailable: {converter['reason']}"
            print(f"    {converter['name']}: {','.join(converter['sources'])} -> "
                  f"{','.join(converter['targets'])} [{state}]")
    print(f"engine network isolation: {data['sandbox']['network_isolation']}")
    return 0


async def _work(settings) -> int:
    from ..context import build_context
    from ..server import prepare_database

    ctx = build_context(settings)
    try:
        if ctx.pm.is_blocked("jobs"):
            raise ConfigError("the `jobs` plugin is blocked: a worker would run nothing")
        await prepare_database(ctx, auto_migrate=False)
        await ctx.start()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        executor = ctx.services["executor"]
        print(f"worker {executor.worker_id}: {settings.workers} slot(s); SIGTERM drains", file=sys.stderr)
        await stop.wait()
    finally:
        await ctx.close()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    return asyncio.run(_work(_settings(args)))


def add_commands(subparsers) -> None:
    convert = subparsers.add_parser("convert", help="convert a file locally (or on a server with --server)")
    convert.add_argument("file", help="the file to convert; its type is read from its bytes")
    convert.add_argument("--to", required=True, help="target format, e.g. pdf")
    convert.add_argument("-o", "--output", help="output file (default: the input's name with the new extension)")
    convert.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                         help="a converter option (see `anclora formats --json`); repeatable")
    convert.add_argument("--server", metavar="URL", help="convert through this server's POST /api/convert")
    convert.add_argument("--api-key", help="API key for --server (default: an anonymous session)")
    convert.set_defaults(func=cmd_convert)

    formats = subparsers.add_parser("formats", help="what converts to what, by which converter, at what cost")
    formats.add_argument("--json", action="store_true", help="print GET /api/formats' JSON")
    formats.set_defaults(func=cmd_formats)

    plugins = subparsers.add_parser("plugins", help="loaded plugins, their hooks and converters")
    plugins.add_argument("--json", action="store_true", help="print GET /api/plugins' JSON")
    plugins.set_defaults(func=cmd_plugins)

    worker = subparsers.add_parser("worker", help="run queued conversions without serving HTTP")
    worker.set_defaults(func=cmd_worker)
