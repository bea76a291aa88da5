"""A converter that holds each conversion at 50 % until the test opens its gate, and says which process ran it."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from anclora import ConversionFailed, Converter, hookimpl

GATE_WAIT_SECONDS = 60.0


class GatedText(Converter):
    name = "gated_text"
    sources = ("txt",)
    targets = ("html",)
    cost = 1

    async def convert(self, src, dst, options, ctx):
        token = src.read_text().strip()
        gates = Path(os.environ["NODES_GATES"])  # (set by the test for every process)
        (gates / f"{token}.pid").write_text(str(os.getpid()))
        await ctx.progress(50)
        deadline = time.monotonic() + GATE_WAIT_SECONDS
        while not (gates / f"{token}.open").exists():
            if time.monotonic() > deadline:
                raise ConversionFailed("the test never opened the gate")
            await asyncio.sleep(0.05)
        dst.write_text(f"<p>{token}</p>\n")


@hookimpl
def anclora_register_converters():
    return [GatedText()]
