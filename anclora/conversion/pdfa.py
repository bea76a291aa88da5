"""The `pdfa` option (`1b`, `2b`, `3b`) of every conversion that makes a PDF, as one finishing step of the host.

A converter whose options declare `pdfa` writes PDF/A itself (LibreOffice's export filter, OCRmyPDF); for any
other converter whose target is pdf, the host offers the option and, after the converter's step, writes its PDF
again as PDF/A (`anclora.engines.pdfa.make`). Either way the host reads the XMP identification of the final PDF
before the conversion succeeds (`anclora.engines.pdfa.check`): a PDF that does not name the level asked for is a
failed conversion.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ..engines import pdfa as engine
from ..engines.sandbox import verify_output
from .converter import ConversionContext, Converter

OPTION = {"type": "string", "enum": list(engine.LEVELS),
          "description": "Write PDF/A of this level (1b, 2b or 3b); the result's XMP identification is checked."}


def declares(converter: Converter) -> bool:
    """Whether the converter writes PDF/A itself (its own options have `pdfa`)."""
    return "pdfa" in converter.options.get("properties", {})


def schema(converter: Converter, target: str) -> dict[str, Any]:
    """The converter's options schema, with `pdfa` added when it makes PDF and leaves PDF/A to the host."""
    if target != "pdf" or declares(converter) or not engine.available():
        return converter.options
    return {**converter.options, "properties": {**converter.options.get("properties", {}), "pdfa": OPTION}}


def converter_options(converter: Converter, options: dict[str, Any]) -> dict[str, Any]:
    """The options the converter itself receives: `pdfa` only when it declares it."""
    if "pdfa" in options and not declares(converter):
        return {key: value for key, value in options.items() if key != "pdfa"}
    return options


async def finish(converter: Converter, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> Path:
    """The PDF the step made, as PDF/A of the level asked for (checked); `dst` itself when none was asked."""
    level = options.get("pdfa")
    if not level or ctx.target_format != "pdf":
        return dst
    if not declares(converter):
        made = dst.with_name(f"{dst.stem}-pdfa.pdf")
        await engine.make(dst, made, level, cwd=ctx.workdir, timeout=ctx.timeout)
        await asyncio.to_thread(verify_output, made, "pdf")
        dst.unlink()
        dst = made
    await engine.check(dst, level, cwd=ctx.workdir, timeout=ctx.timeout)
    return dst
