"""Tabular data (csv, tsv, json, jsonl, yaml, xml, xlsx, ods, parquet) into each other.

The parsing runs in a sandboxed child process (`_data_worker.py`, with `_data_readers.py` and `_data_writers.py`)
under a memory cap, with caps on rows, columns, cell size and nesting depth. XML goes through defusedxml with DTDs
refused (no entity expansion, no external entities), YAML through a safe loader without aliases, and the zip
container of xlsx/ods is checked before anything parses it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from anclora import Converter, UnsupportedMediaType, hookimpl
from anclora.engines import worker
from anclora.engines.zipcheck import ZIP_FORMATS, check_zip
from anclora.sniff import sniff

DATA_FORMATS = ("csv", "tsv", "json", "jsonl", "yaml", "xml", "xlsx", "ods", "parquet")
SPREADSHEETS = ("xlsx", "ods")
WORKER = Path(__file__).with_name("_data_worker.py")
MEMORY_BYTES = 2 * 1024**3


class DataConverter(Converter):
    name = "data"
    sources = DATA_FORMATS
    targets = DATA_FORMATS
    cost = 1
    limits = {"max_rows": 200_000, "max_columns": 1_000, "max_cell_chars": 1_000_000, "max_depth": 32,
              "timeout": 120}

    def pairs(self):
        """Every pair but spreadsheet to spreadsheet: LibreOffice keeps formatting and formulas there."""
        return ((source, target) for source, target in super().pairs()
                if not (source in SPREADSHEETS and target in SPREADSHEETS))

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx) -> None:
        """Read `src` as a table and write it as `ctx.target_format`."""
        source = self.source_format(src, ctx.source_format)
        if source in ZIP_FORMATS:
            await asyncio.to_thread(check_zip, src)  # it inflates every entry once: not on the event loop
        await ctx.progress(5)
        await worker.run_worker(
            WORKER, src, dst, source, options, ctx,
            memory_bytes=MEMORY_BYTES, cpu_seconds=self.limits["timeout"], timeout=self.limits["timeout"])
        await ctx.progress(100)

    def source_format(self, src: Path, claimed: str) -> str:
        """The format the bytes show; between text formats the bytes cannot tell apart, the claimed one."""
        found = sniff(src, claimed)
        if found not in self.sources:
            raise UnsupportedMediaType(f"a {found} file is not accepted as {claimed or 'data'}")
        return found


@hookimpl
def anclora_register_converters():
    return [DataConverter()]
