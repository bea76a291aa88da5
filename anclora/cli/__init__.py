"""The `anclora` command and its subcommands."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
from typing import Any, Callable

from ..version import __version__
from .. import config, config_samples, logs
from ..errors import ConfigError

# Feature packages add their own subcommands through `add_commands(subparsers)`.
COMMAND_MODULES = ("anclora.cli.convert", "anclora.cli.users", "anclora.cli.ops")

# What each command's --help ends with, by its full name (a test checks that every command has one).
EXAMPLES = {
    "serve": ["anclora serve --migrate", "anclora serve --host 0.0.0.0 --port 8080",
              "anclora serve --no-jobs   # conversions run on `anclora worker` processes only"],
    "db": ["anclora db upgrade", "anclora db current", "anclora db downgrade 0001"],
    "cleanup": ["anclora cleanup            # hourly from cron or a systemd timer"],
    "verify": ["anclora verify > problems.jsonl || echo 'a stored file changed'"],
    "config-sample": ["anclora config-sample > anclora.toml", "anclora config-sample --env > .env"],
    "convert": ["anclora convert report.docx --to pdf",
                "anclora convert photo.png --to jpeg -o small.jpg --option quality=70 --option width=800",
                "anclora convert talk.mkv --to mp4 --server https://convert.example.org --api-key KEY"],
    "formats": ["anclora formats | grep '^docx'", "anclora formats --json | jq '.conversions[0]'"],
    "plugins": ["anclora plugins | head", "anclora plugins --json | jq '.plugins[].name'"],
    "worker": ["DATABASE_URL=postgresql://anclora:secret@db/anclora anclora worker"],
    "users": ["anclora users create-admin admin@example.org"],
    "users create-admin": ["anclora users create-admin admin@example.org",
                           "echo \"$PASSWORD\" | anclora users create-admin admin@example.org --password-stdin"],
    "ops": ["anclora ops list", "anclora ops run backup --check"],
    "ops list": ["anclora ops list | less"],
    "ops run": ["anclora ops run backup", "anclora ops run maintenance --check --limit web1"],
}


def load_settings(args: argparse.Namespace, **overrides: Any) -> config.Settings:
    overrides.update({name: getattr(args, name, None) for name in ("host", "port")})
    settings = config.with_generated_secret(config.load(getattr(args, "config", None), overrides=overrides))
    logs.setup(settings.log_level, settings.log_file, settings.log_format)
    return settings


def with_context(coroutine_fn: Callable) -> Callable[[argparse.Namespace], int]:
    """A command body `async def body(ctx, args) -> int` run with a fresh AppContext on an up-to-date schema."""
    def command(args: argparse.Namespace) -> int:
        from ..server import build_context, close, prepare_database

        async def main() -> int:
            ctx = build_context(load_settings(args))
            try:
                await prepare_database(ctx, auto_migrate=False)
                return await coroutine_fn(ctx, args)
            finally:
                await close(ctx)
        return asyncio.run(main())
    return command


def cmd_serve(args: argparse.Namespace) -> int:
    from ..server import serve

    settings = load_settings(args)
    if args.no_jobs:
        settings = settings.replace(plugins_block=[*settings.plugins_block, "jobs"])
    asyncio.run(serve(settings, auto_migrate=args.migrate))
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from ..db import create_engine, migrate

    settings = load_settings(args)

    async def main() -> int:
        engine = create_engine(settings.database_url)
        try:
            if args.action == "current":
                current = await migrate.current(engine)
                print(f"{current or '(empty)'}{' (head)' if current == migrate.head() else ''}")
            else:
                revision = args.revision or ("head" if args.action == "upgrade" else "-1")
                await migrate.run(engine, args.action, revision)
                print(f"database at {await migrate.current(engine) or '(empty)'}")
        finally:
            await engine.dispose()
        return 0
    return asyncio.run(main())


async def _cleanup(ctx, args) -> int:
    from .. import files
    from ..uploads import tus

    report = await files.cleanup(ctx)
    report["expired_uploads"] = await tus.cleanup(ctx)
    print(json.dumps(report))
    return 0


async def _verify(ctx, args) -> int:
    from .. import files

    problems = await files.verify(ctx)
    for problem in problems:
        print(json.dumps(problem))
    print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


def cmd_config_sample(args: argparse.Namespace) -> int:
    from ..plugins import bundled_settings

    declared = bundled_settings()
    print(config_samples.sample_dotenv(declared) if args.env else config_samples.sample_toml(declared))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anclora", description="Anclora Converter: a self-hostable file conversion service.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Settings come from defaults < --config FILE (TOML) < environment (.env too) < flags.\n"
               "See `anclora config-sample`, and `anclora COMMAND --help` for each command.\n\n"
               "examples:\n  anclora serve --migrate\n  anclora convert report.docx --to pdf\n")
    parser.add_argument("--version", action="version", version=f"anclora {__version__}")
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file (default: $ANCLORA_CONFIG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default 5000)")
    serve.add_argument("--migrate", action="store_true", help="upgrade the database schema before serving")
    serve.add_argument("--no-jobs", action="store_true",
                       help="run no conversions here: `anclora worker` processes take them from the queue")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database schema migrations")
    db.add_argument("action", choices=("upgrade", "downgrade", "current"))
    db.add_argument("revision", nargs="?", help="target revision (upgrade: head, downgrade: -1)")
    db.set_defaults(func=cmd_db)

    sub.add_parser("cleanup", help="delete expired files, orphans and stale partial uploads").set_defaults(
        func=with_context(_cleanup))
    sub.add_parser("verify", help="re-hash stored files against their sha256; exit 1 on a mismatch").set_defaults(
        func=with_context(_verify))

    sample = sub.add_parser("config-sample", help="print a commented configuration file with every setting")
    sample.add_argument("--env", action="store_true", help="print a .env file instead of TOML")
    sample.set_defaults(func=cmd_config_sample)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(sub)
    for name, command in commands(parser):
        command.epilog = "examples:\n" + "".join(f"  {line}\n" for line in EXAMPLES.get(name, []))
        command.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def commands(parser: argparse.ArgumentParser, prefix: str = ""):
    """(full name, parser) of every subcommand, nested ones too."""
    for action in parser._actions:  # (argparse keeps its subparsers nowhere public)
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield prefix + name, command
                yield from commands(command, f"{prefix}{name} ")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()  # (here, so that a reader gone away is noticed below and not at exit)
        return status
    except BrokenPipeError:  # `anclora formats | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ConfigError as error:
        print(f"anclora: configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        from ..server import StartupError

        if isinstance(error, StartupError):
            print(f"anclora: {error}", file=sys.stderr)
            return 3
        raise
