"""An example drop-in converter: copy this file into a plugins folder (`plugins_dirs`) and restart Anclora.

It reverses plain text, character by character on each line, or the order of the lines with `{"lines": true}`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from anclora import ConversionContext, ConversionFailed, Converter, hookimpl

__version__ = "1.0.0"


class ReverseText(Converter):
    name = "reverse_text"
    sources = ("txt",)
    targets = ("txt",)
    options = {
        "type": "object",
        "properties": {"lines": {"type": "boolean", "description": "Reverse the order of the lines instead."}},
        "additionalProperties": False,
    }
    cost = 1
    limits = {"max_input_bytes": 10 * 2**20, "timeout": 30}

    def pairs(self):
        # a transformation within one format: the default pairs() leaves out source == target
        yield "txt", "txt"

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        try:
            text = src.read_text("utf-8")
        except UnicodeDecodeError:
            raise ConversionFailed("The text is not UTF-8.") from None
        lines = text.splitlines()
        # pure-Python work that could take a while goes to a thread so the server stays responsive
        reversed_lines = await asyncio.to_thread(
            lambda: lines[::-1] if options.get("lines") else [line[::-1] for line in lines])
        await ctx.progress(50)
        dst.write_text("\n".join(reversed_lines) + "\n", "utf-8")


@hookimpl
def anclora_register_converters():
    return [ReverseText()]
