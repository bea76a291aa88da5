"""anclora-example-plugin: a converter, lifecycle hooks and an extra API route, installed as a package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from anclora import ConversionContext, Converter, config, hookimpl
from anclora.handlers.base import APIHandler
from anclora.openapi import obj, operation

__version__ = "0.2.0"
STATE = "word_count"  # the plugin's name (its entry point's): its own namespace in ctx.state()


class WordCount(Converter):
    name = "word_count"
    sources = ("txt",)
    targets = ("json",)
    options = {"type": "object", "properties": {}, "additionalProperties": False}
    cost = 0

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        text = src.read_text("utf-8", errors="replace")
        counts = {"lines": len(text.splitlines()), "words": len(text.split()), "characters": len(text)}
        dst.write_text(json.dumps(counts), "utf-8")


class WordCountStatsHandler(APIHandler):
    @operation({200: obj({"finished": {"type": "integer"}}, required=("finished",))})
    async def get(self) -> None:
        """How many word counts this process has finished since it started."""
        self.write_json(self.ctx.state(STATE))


@hookimpl
def anclora_register_converters():
    return [WordCount()]


@hookimpl
def anclora_settings():
    return [config.Setting("stats_route", config.boolean, True,
                           "Serve GET /api/example/word-count (set in [plugins.word_count] or "
                           "ANCLORA_PLUGINS__WORD_COUNT__STATS_ROUTE).")]


@hookimpl
def anclora_startup(ctx):
    ctx.state(STATE)["finished"] = 0


@hookimpl
def anclora_shutdown(ctx):
    ctx.state(STATE).clear()


@hookimpl
def anclora_handlers(ctx):
    if not ctx.settings.plugin("word_count")["stats_route"]:
        return []
    return [(r"/api/example/word-count", WordCountStatsHandler)]


@hookimpl
def anclora_conversion_finished(ctx, conversion):
    if conversion["converter"] == "word_count":
        ctx.state(STATE)["finished"] += 1


@hookimpl
def anclora_me(ctx, identity):
    return {"word_counts_finished": ctx.state(STATE)["finished"]}
