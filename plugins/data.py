"""Tabular data (csv, tsv, json, jsonl, yaml, xml, xlsx, ods, parquet) into each other.

The parsing runs in a sandboxed child process (`_data_worker.py`, with `_data_readers.py` and `_data_writers.py`)
under a memory cap, with caps on rows, columns, cell size and nesting depth. XML goes through defusedxml with DTDs
refused (no entity expansion, no external entities), YAML through a safe loader without aliases, and the zip
container of xlsx/ods is checked before anything parses it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from anclora import Converter, UnsupportedMediaType, hookimpl
from anclora.conversion.sandbox import verify_output
from anclora.errors import ConversionFailed
from anclora.sniff import sniff


def _load_worker_helpers():
    """plugins/_worker.py, shared by the plugins in this folder (file plugins are not a package)."""
    name = "anclora_plugin__worker"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_worker.py"))
        sys.modules[name] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules[name]


DATA_FORMATS = ("csv", "tsv", "json", "jsonl", "yaml", "xml", "xlsx", "ods", "parquet")
WORKER = Path(__file__).with_name("_data_worker.py")
MEMORY_BYTES = 2 * 1024**3

# The zip container of xlsx/ods, checked before anything parses it.
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_BYTES = 512 * 1024**2
MAX_ZIP_RATIO = 1_000


class DataConverter(Converter):
    name = "data"
    sources = DATA_FORMATS
    targets = DATA_FORMATS
    cost = 1
    limits = {"max_rows": 200_000, "max_columns": 1_000, "max_cell_chars": 1_000_000, "max_depth": 32,
              "timeout": 120}

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx) -> None:
        """Read `src` as a table and write it as `ctx.target_format`."""
        source = self.source_format(src, ctx.source_format)
        if source in ("xlsx", "ods"):
            check_zip(src)
        await ctx.progress(5)
        await _load_worker_helpers().run_worker(
            WORKER, src, dst, source, options, ctx,
            memory_bytes=MEMORY_BYTES, cpu_seconds=self.limits["timeout"], timeout=self.limits["timeout"])
        verify_output(dst, ctx.target_format)
        await ctx.progress(100)

    def source_format(self, src: Path, claimed: str) -> str:
        """The format the bytes show; between text formats the bytes cannot tell apart, the claimed one."""
        found = sniff(src, claimed)
        if found not in self.sources:
            raise UnsupportedMediaType(f"a {found} file is not accepted as {claimed or 'data'}")
        return found


def check_zip(path: Path) -> None:
    """Refuse a zip container with too many entries, too much uncompressed data or unsafe names."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise ConversionFailed("the file is not a valid zip container") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise ConversionFailed(f"the container has more than {MAX_ZIP_ENTRIES} entries")
    if sum(entry.file_size for entry in entries) > MAX_ZIP_BYTES:
        raise ConversionFailed(f"the container unpacks to more than {MAX_ZIP_BYTES // 1024**2} MB")
    for entry in entries:
        if entry.filename.startswith("/") or ".." in entry.filename.split("/"):
            raise ConversionFailed("the container holds an entry with an unsafe name")
        if entry.file_size > 1024**2 and entry.file_size > MAX_ZIP_RATIO * max(entry.compress_size, 1):
            raise ConversionFailed("the container holds an entry compressed beyond any plausible ratio")


@hookimpl
def anclora_register_converters():
    return [DataConverter()]
