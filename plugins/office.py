"""LibreOffice converters: documents, spreadsheets and presentations to PDF and between their formats.

Conversions run on the warm pool of `anclora.engines.office_pool` that `anclora_startup` registers in
`ctx.engine_pools` for these converters (their jobs receive it in `ConversionContext.resources`). Without a pool
(the command line, plugin tests) a one-off instance with a fresh hardened profile is started in the job's folder.
Zip containers go through `zipcheck` before LibreOffice sees them; the host checks the output by its bytes.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

from anclora import Availability, ConversionContext, Converter, UnsupportedMediaType, config, hookimpl
from anclora.config import Setting
from anclora.conversion.converter import program_identity
from anclora.engines import zipcheck
from anclora.engines.office_pool import ENGINE, UNO_PYTHON, OfficePool
from anclora.sniff import sniff

POOL = "office_pool"
UNO_MODULE = Path("/usr/lib/python3/dist-packages/uno.py")  # where Debian's python3-uno puts it
INSTALL = ("apt-get install libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui "
           "python3-uno")


def _missing() -> str | None:
    """Why LibreOffice cannot be driven here, or None. Cheap enough for every health check."""
    if shutil.which("soffice") is None:
        return "soffice not found on PATH"
    if not Path(UNO_PYTHON).is_file() or not UNO_MODULE.is_file():
        return f"{UNO_PYTHON} has no uno module (python3-uno)"
    return None


@functools.cache
def _libreoffice_identity() -> str:
    return program_identity("soffice")


class OfficeConverter(Converter):
    engine = ENGINE
    install = INSTALL
    limits = {"max_input_bytes": 100 * 2**20}

    def engine_version(self) -> str:
        return _libreoffice_identity()

    def availability(self) -> Availability:
        reason = _missing()
        return Availability(False, reason, self.install) if reason else Availability(True)

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        source = sniff(src, ctx.source_format)
        if source not in self.sources:
            raise UnsupportedMediaType(f"{self.name} does not read {source}")
        if source in zipcheck.ZIP_FORMATS:
            zipcheck.check_zip(src)
        await ctx.progress(5)
        pool = ctx.resources.get(POOL)
        if pool is not None:
            await pool.convert(src, dst, ctx.target_format, source_format=source, timeout=ctx.timeout)
        else:
            async with OfficePool(size=1, root=ctx.workdir / "office") as one_off:
                await one_off.convert(src, dst, ctx.target_format, source_format=source, timeout=ctx.timeout)
        await ctx.progress(100)


class OfficeDocumentConverter(OfficeConverter):
    name = "office_document"
    sources = ("docx", "doc", "odt", "rtf", "txt")
    targets = ("pdf", "docx", "odt")

    def pairs(self):
        # plain text becomes a word processor document through pandoc (markup), which keeps its structure
        return ((source, target) for source, target in super().pairs() if source != "txt" or target == "pdf")


class OfficeSpreadsheetConverter(OfficeConverter):
    name = "office_spreadsheet"
    sources = ("xlsx", "xls", "ods", "csv")
    targets = ("pdf", "xlsx", "ods")


class OfficePresentationConverter(OfficeConverter):
    name = "office_presentation"
    sources = ("pptx", "ppt", "odp")
    targets = ("pdf", "pptx", "odp")


@hookimpl
def anclora_register_converters():
    return [OfficeDocumentConverter(), OfficeSpreadsheetConverter(), OfficePresentationConverter()]


@hookimpl
def anclora_settings():
    old = "Also read as office_{0} / ANCLORA_OFFICE_{1}."
    return [
        Setting("pool_size", config.positive_int, 2, "LibreOffice instances kept running for office conversions. "
                + old.format("pool_size", "POOL_SIZE")),
        Setting("pool_prestart", config.boolean, False, "Start the LibreOffice instances with the server (else at "
                "the first office conversion). " + old.format("pool_prestart", "POOL_PRESTART")),
        Setting("recycle_after", config.positive_int, 200, "Conversions after which a LibreOffice instance is "
                "replaced by a fresh one (memory creep). " + old.format("recycle_after", "RECYCLE_AFTER")),
        Setting("max_rss_mb", config.positive_int, 1024, "Memory (RSS of all its processes, MiB) above which a "
                "LibreOffice instance is replaced. " + old.format("max_rss_mb", "MAX_RSS_MB")),
    ]


@hookimpl
def anclora_startup(ctx):
    settings = ctx.settings.plugin("office")
    pool = OfficePool(size=settings["pool_size"], recycle_after=settings["recycle_after"],
                      max_rss_bytes=settings["max_rss_mb"] * 2**20, metrics=ctx.metrics)
    ctx.engine_pools.register(POOL, pool, [converter.name for converter in anclora_register_converters()])
    if settings["pool_prestart"] and _missing() is None:
        return pool.start()
    return None


@hookimpl
def anclora_shutdown(ctx):
    pool = ctx.engine_pools.unregister(POOL)
    return pool.close() if pool is not None else None
