"""Markup conversions with pandoc: Markdown, HTML, reStructuredText, LaTeX, Org, plain text, docx, odt and EPUB.

Untrusted input rules: pandoc always runs with `--sandbox` (no file or network access beyond its input), reader
and writer are named explicitly from the sniffed type, raw TeX/HTML is switched off in the readers that have the
switch and every raw block or inline that remains (rst `raw`, Org export blocks) is dropped by a built-in Lua
filter. No user filters, templates, data directory or `--extract-media`. PDF output is not done here: the planner
chains a format pandoc writes (docx) through LibreOffice.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from anclora import Availability, ConversionContext, ConversionFailed, Converter, UnsupportedMediaType, hookimpl
from anclora.engines import sandbox, zipcheck
from anclora.sniff import sniff

READERS = {
    "md": "markdown-raw_html-raw_tex-raw_attribute",
    "txt": "markdown-raw_html-raw_tex-raw_attribute",
    "html": "html-raw_html-raw_tex",
    "rst": "rst",
    "tex": "latex-raw_tex",
    "org": "org",
    "docx": "docx",
    "odt": "odt",
    "epub": "epub-raw_html",
}
# Richest first: where a planner weighs two equal chains (md -> docx -> pdf, md -> txt -> pdf), the first wins.
WRITERS = {
    # Markdown tables as pipe tables (GitHub's, which search and LLM pipelines read), not pandoc's other kinds
    "docx": "docx", "odt": "odt", "epub": "epub3", "html": "html5",
    "md": "markdown-simple_tables-multiline_tables-grid_tables", "rst": "rst",
    "tex": "latex", "org": "org", "txt": "plain",
}
STANDALONE = {"html", "tex"}  # whole documents, not fragments (docx, odt and epub always are)
# LibreOffice keeps far more of a word processor document than pandoc's document model does.
LEFT_TO_OFFICE = {("docx", "odt"), ("odt", "docx")}
DROP_RAW = "function RawBlock(el) return {} end\nfunction RawInline(el) return {} end\n"
HEAP_LIMIT = "1024m"
LIMITS = sandbox.Limits(cpu_seconds=300, file_bytes=512 * 2**20)


def pandoc_path() -> str | None:
    """The pandoc 3.x shipped with pypandoc-binary (never an older one from the system); pypandoc caches it."""
    try:
        import pypandoc

        path = pypandoc.get_pandoc_path()
    except (ImportError, OSError):
        return None
    return path if path and Path(path).is_file() else None


class MarkupConverter(Converter):
    name = "markup"
    sources = tuple(READERS)
    targets = tuple(WRITERS)
    engine = "pandoc"
    install = "pip install pypandoc-binary (pandoc 3 in the virtual environment)"
    limits = {"max_input_bytes": 50 * 2**20}
    version = "2"  # Markdown's tables became pipe tables
    options = {
        "type": "object",
        "properties": {
            "toc": {"type": "boolean", "default": False, "description": "Add a table of contents."},
        },
        "additionalProperties": False,
    }

    def pairs(self):
        return (pair for pair in super().pairs() if pair not in LEFT_TO_OFFICE)

    def engine_version(self) -> str:
        """pypandoc-binary's version: it ships the pandoc binary."""
        known = self.__dict__.get("_engine_version")
        if known is None:
            try:
                known = importlib.metadata.version("pypandoc-binary")
            except importlib.metadata.PackageNotFoundError:
                known = "missing"
            self.__dict__["_engine_version"] = known
        return known

    def availability(self) -> Availability:
        if pandoc_path() is None:
            return Availability(False, "the pandoc binary of pypandoc-binary was not found", self.install)
        return Availability(True)

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        source = sniff(src, ctx.source_format)
        if source not in READERS:
            raise UnsupportedMediaType(f"pandoc does not read {source} here")
        if source in zipcheck.ZIP_FORMATS:
            zipcheck.check_zip(src)
        await ctx.progress(10)
        result = await sandbox.run(self.argv(src, dst, source, ctx.target_format, options, ctx.workdir),
                                   cwd=ctx.workdir, timeout=ctx.timeout, limits=LIMITS)
        if result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ConversionFailed("pandoc could not convert this document",
                                   details={"engine": message[-1][:300] if message else ""})
        await ctx.progress(100)

    def argv(self, src: Path, dst: Path, source: str, target: str, options: dict[str, Any],
             workdir: Path) -> list[str]:
        drop_raw = workdir / "drop-raw.lua"
        drop_raw.write_text(DROP_RAW, encoding="utf-8")
        argv = [pandoc_path(), "+RTS", f"-M{HEAP_LIMIT}", "-RTS", "--sandbox",
                "-f", READERS[source], "-t", WRITERS[target], "--lua-filter", str(drop_raw),
                "-o", str(dst)]
        if target in STANDALONE:
            argv.append("--standalone")
        if options.get("toc"):
            argv.append("--toc")
        return [*argv, "--", str(src)]


@hookimpl
def anclora_register_converters():
    return [MarkupConverter()]
