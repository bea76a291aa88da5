"""`anclora convert`, `anclora formats`, `anclora plugins`, `anclora worker`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from .. import sniff
from ..errors import AncloraError, ConfigError


def _settings(args: argparse.Namespace):
    from . import load_settings

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


def _as_if_created_here(path: Path) -> None:
    """Give `path` the mode a file the caller creates gets from their umask (engines write theirs 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    path.chmod(0o666 & ~mask)


async def _convert_locally(args: argparse.Namespace, settings) -> Path:
    from ..conversion.chain import run_route
    from ..plugins import make_plugin_manager
    from ..conversion.options import validate
    from ..conversion.planner import Planner
    from ..conversion.registry import collect_converters

    planner = Planner.from_available(collect_converters(make_plugin_manager(settings)))
    src = Path(args.file)
    source = sniff.sniff(src, sniff.extension_of(src.name))
    options = planner.options_from_query(source, args.to, _pairs(args.option))
    route = planner.route(source, args.to, options)
    options = validate(route.options_schema, options)
    out = _output_path(args, route.target)
    progress = ProgressLine(f"{src.name} -> {out.name} ({route.name})")
    with tempfile.TemporaryDirectory(prefix="anclora-convert-") as folder:
        workdir = Path(folder)
        shutil.copyfile(src, workdir / f"input.{route.source}")
        result = await run_route(route, workdir / f"input.{route.source}", workdir, options,
                                 default_timeout=settings.job_timeout, report=progress)
        shutil.move(result, out)
    _as_if_created_here(out)
    progress.done(f"done, {out.stat().st_size} bytes")
    return out


RETRIES = 5  # dropped connections in a row before giving up
READ_SIZE = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}


def _checked(response, *expected: int):
    if response.status_code not in expected:
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {"code": "unexpected_answer", "message": response.text[:200]}
        raise AncloraError(f"{response.status_code} {error.get('code')}: {error.get('message')}",
                           details=error.get("details"))
    return response


async def _upload(http, src: Path, progress: ProgressLine) -> str:
    """Send `src` as a tus upload in one PATCH, and after a dropped connection the rest from where the server says
    it got to (it keeps what arrived); the id of the file it becomes."""
    import base64

    import httpx

    size = src.stat().st_size
    metadata = f"filename {base64.b64encode(src.name.encode()).decode()}"
    created = _checked(await http.post("/api/uploads/", headers={
        **TUS, "Upload-Length": str(size), "Upload-Metadata": metadata}), 201)
    location, offset, failures = created.headers["Location"], 0, 0
    file_id = created.headers.get("Anclora-File-Id")

    async def rest(start: int):
        with open(src, "rb") as handle:
            handle.seek(start)
            sent = start
            while chunk := handle.read(READ_SIZE):
                sent += len(chunk)
                progress(int(50 * sent / size))
                yield chunk

    while file_id is None:
        try:
            response = await http.patch(location, content=rest(offset), headers={
                **TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset),
                "Content-Length": str(size - offset)})
            if response.status_code == 409 and failures:  # the dropped request may still hold the upload
                raise httpx.TransportError("the server still holds the interrupted request")
            offset = int(_checked(response, 204).headers["Upload-Offset"])
        except httpx.TransportError as error:
            failures += 1
            if failures > RETRIES:
                raise AncloraError(f"the upload failed {failures} times in a row: {error}") from None
            await asyncio.sleep(min(2 ** failures, 30))  # back off, then ask the server what it kept
            try:
                head = _checked(await http.head(location, headers=TUS), 200)
            except httpx.TransportError:
                continue  # the next attempt says
            offset, file_id = int(head.headers["Upload-Offset"]), head.headers.get("Anclora-File-Id")
            continue
        failures = 0
        file_id = response.headers.get("Anclora-File-Id")
    return file_id


async def _convert_on_server(args: argparse.Namespace) -> Path:
    """Upload resumably, queue the conversion, follow its progress, download the result."""
    import httpx

    from ..conversion.options import from_query, schema_errors

    src = Path(args.file)
    target = sniff.normalize(args.to)
    out = _output_path(args, target)
    progress = ProgressLine(f"{src.name} -> {args.server}")
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    async with httpx.AsyncClient(base_url=args.server, timeout=300, headers=headers) as http:
        file_id = await _upload(http, src, progress)
        source = _checked(await http.get(f"/api/files/{file_id}"), 200).json()["format"]
        routes = _checked(await http.get("/api/formats"), 200).json()["conversions"]
        candidates = [r for r in routes if r["from"] == source and r["to"] == target]
        if not candidates:
            raise AncloraError(f"the server cannot convert {source} to {target}")
        # typed as the converter the server will pick for them types them (`ocr=true` reaches the OCR one)
        typed = [from_query(r["options"], _pairs(args.option)) for r in candidates]
        options = next((o for r, o in zip(candidates, typed) if not schema_errors(r["options"], o)), typed[0])
        job = _checked(await http.post("/api/conversions", json={"file_id": file_id, "to": target,
                                                                 "options": options}), 200, 202).json()
        while job["status"] not in ("succeeded", "failed", "canceled"):
            progress(50 + job["progress"] // 2)
            await asyncio.sleep(0.5)  # polling, as a client does; the server is another process
            job = _checked(await http.get(f"/api/conversions/{job['id']}"), 200).json()
        if job["status"] != "succeeded":
            error = job.get("error") or {}
            raise AncloraError(f"the conversion {job['status']}: {error.get('code')}: {error.get('message')}")
        async with http.stream("GET", f"/api/conversions/{job['id']}/result") as response:
            if response.status_code != 200:
                await response.aread()
                _checked(response, 200)
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
    from ..identity import Identity
    from ..server import build_context, close
    from ..conversion.catalog import formats

    ctx = build_context(_settings(args))
    try:  # prices come from the pricing plugins, quoted as for an anonymous caller
        return formats(ctx, Identity(address="cli", session_id="cli"), ctx.planner)
    finally:
        await close(ctx)


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
    from ..conversion.catalog import plugins
    from ..conversion.registry import collect_converters

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
    from ..jobs.executor import executor_for
    from ..server import build_context, close, prepare_database, start

    ctx = build_context(settings)
    try:
        if ctx.pm.is_blocked("jobs"):
            raise ConfigError("the `jobs` plugin is blocked: a worker would run nothing")
        await prepare_database(ctx, auto_migrate=False)
        await start(ctx)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        executor = executor_for(ctx)
        print(f"worker {executor.worker_id}: {settings.workers} slot(s); SIGTERM drains", file=sys.stderr)
        await stop.wait()
    finally:
        await close(ctx)
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
    convert.add_argument("--server", metavar="URL",
                         help="convert on this server: a resumable upload, then a conversion job")
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
