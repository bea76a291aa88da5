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
from anclora.conversion.pdfa import OPTION as PDFA_OPTION
from anclora.engines import zipcheck
from anclora.engines.office_pool import ENGINE, UNO_PYTHON, OfficePool
from anclora.errors import BadRequest
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


PDF_VERSIONS = {"1b": 1, "2b": 2, "3b": 3}  # LibreOffice's SelectPdfVersion for each PDF/A level
PDF_OPTIONS = {
    "page_ranges": {"type": "string", "pattern": r"^\s*\d+\s*(-\s*\d+\s*)?(,\s*\d+\s*(-\s*\d+\s*)?)*$",
                    "description": "Pages to export, such as '1-3,5' (default: all)."},
    "export_form_fields": {"type": "boolean", "default": True,
                           "description": "Keep form fields as PDF form fields (false: plain text)."},
    "lossless_images": {"type": "boolean", "default": False, "description": "Compress images losslessly."},
    "quality": {"type": "integer", "minimum": 1, "maximum": 100, "default": 90,
                "description": "JPEG quality of the images."},
    "reduce_image_resolution": {"type": "boolean", "default": False,
                                "description": "Lower images to `max_image_resolution`."},
    "max_image_resolution": {"type": "integer", "enum": [75, 150, 300, 600, 1200], "default": 300,
                             "description": "DPI images are reduced to when `reduce_image_resolution` is set."},
    "pdfa": PDFA_OPTION,  # LibreOffice's export filter writes it; the host checks the XMP identification
    "pdfua": {"type": "boolean", "default": False, "description": "Write accessible PDF (PDF/UA)."},
}
LANDSCAPE = {"landscape": {"type": "boolean", "default": False,
                           "description": "Turn every page style to landscape."}}


def pdf_filter_data(options: dict[str, Any]) -> dict[str, Any]:
    """The options as properties of LibreOffice's PDF export filter (its `FilterData`)."""
    data: dict[str, Any] = {}
    if "page_ranges" in options:
        data["PageRange"] = options["page_ranges"].replace(" ", "")
    for option, name in (("export_form_fields", "ExportFormFields"), ("lossless_images", "UseLosslessCompression"),
                         ("quality", "Quality"), ("reduce_image_resolution", "ReduceImageResolution"),
                         ("max_image_resolution", "MaxImageResolution"), ("pdfua", "PDFUACompliance")):
        if option in options:
            data[name] = options[option]
    if "pdfa" in options:
        data["SelectPdfVersion"] = PDF_VERSIONS[options["pdfa"]]
    return data


@functools.cache
def _libreoffice_identity() -> str:
    return program_identity("soffice")


class OfficeConverter(Converter):
    engine = ENGINE
    install = INSTALL
    limits = {"max_input_bytes": 100 * 2**20}
    options = {"type": "object", "additionalProperties": False, "properties": PDF_OPTIONS,
               "description": "Options of the PDF export; refused for other targets."}

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
        if options and ctx.target_format != "pdf":
            raise BadRequest(f"{', '.join(sorted(options))} only apply when converting to pdf.")
        await ctx.progress(5)
        export = {"pdf_options": pdf_filter_data(options), "landscape": options.get("landscape", False)}
        pool = ctx.resources.get(POOL)
        if pool is not None:
            await pool.convert(src, dst, ctx.target_format, source_format=source, timeout=ctx.timeout, **export)
        else:
            async with OfficePool(size=1, root=ctx.workdir / "office") as one_off:
                await one_off.convert(src, dst, ctx.target_format, source_format=source, timeout=ctx.timeout,
                                      **export)
        await ctx.progress(100)


class OfficeDocumentConverter(OfficeConverter):
    name = "office_document"
    sources = ("docx", "doc", "odt", "rtf", "txt")
    targets = ("pdf", "docx", "odt")
    options = {**OfficeConverter.options, "properties": {**PDF_OPTIONS, **LANDSCAPE}}

    def pairs(self):
        # plain text becomes a word processor document through pandoc (markup), which keeps its structure
        return ((source, target) for source, target in super().pairs() if source != "txt" or target == "pdf")


class OfficeSpreadsheetConverter(OfficeConverter):
    name = "office_spreadsheet"
    sources = ("xlsx", "xls", "ods", "csv")
    targets = ("pdf", "xlsx", "ods")
    options = {**OfficeConverter.options, "properties": {**PDF_OPTIONS, **LANDSCAPE}}


class OfficePresentationConverter(OfficeConverter):
    name = "office_presentation"
    sources = ("pptx", "ppt", "odp")
    targets = ("pdf", "pptx", "odp")


class OfficePdfFormats(OfficeConverter):
    """A PDF written again by LibreOffice (imported as a drawing) as PDF/A or PDF/UA. Only when named: the
    pages come back as drawings, fine for archiving, not what an ordinary pdf -> pdf should do."""

    name = "office_pdf_formats"
    sources = ("pdf",)
    targets = ("pdf",)
    on_request = True
    options = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
        "pdfa": PDF_OPTIONS["pdfa"], "pdfua": PDF_OPTIONS["pdfua"]}}

    def pairs(self):
        return [("pdf", "pdf")]


@hookimpl
def anclora_register_converters():
    return [OfficeDocumentConverter(), OfficeSpreadsheetConverter(), OfficePresentationConverter(),
            OfficePdfFormats()]


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
