"""A converter that hangs on its first run (so a test can kill the server mid-conversion) and is quick after."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from anclora import Converter, hookimpl


class SlowOnceText(Converter):
    name = "slow_once_text"
    sources = ("txt",)
    targets = ("md",)
    cost = 1

    async def convert(self, src, dst, options, ctx):
        marker = Path(os.environ["FAULT_MARKER"])  # (set by the test for the server process)
        if not marker.exists():
            marker.write_text("started")
            await ctx.progress(10)
            await asyncio.sleep(600)
        dst.write_bytes(src.read_bytes().upper())


@hookimpl
def anclora_register_converters():
    return [SlowOnceText()]
