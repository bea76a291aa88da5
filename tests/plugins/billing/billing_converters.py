"""Small converters with prices for the billing and limits tests: one that works, one that fails, one that waits."""

from __future__ import annotations

import asyncio

from anclora import ConversionFailed, Converter, hookimpl


class PricedText(Converter):
    name = "priced_text"
    sources = ("txt",)
    targets = ("md",)
    cost = 3

    async def convert(self, src, dst, options, ctx):
        dst.write_text(src.read_text("utf-8").upper(), "utf-8")


class FailingYaml(Converter):
    name = "failing_yaml"
    sources = ("yaml",)
    targets = ("json",)
    cost = 4

    async def convert(self, src, dst, options, ctx):
        raise ConversionFailed("this yaml is not acceptable")


class WaitingCsv(Converter):
    """Never finishes on its own: only a cancel ends it."""

    name = "waiting_csv"
    sources = ("csv",)
    targets = ("json",)
    cost = 5

    async def convert(self, src, dst, options, ctx):
        await asyncio.Event().wait()


@hookimpl
def anclora_register_converters():
    return [PricedText(), FailingYaml(), WaitingCsv()]
