"""Chromium converters: HTML (a file, or a zip of `index.html` and its assets) and Markdown to PDF, PNG and JPEG, and
allowlisted web pages (url) to PDF, PNG and JPEG.

Pages are rendered on the warm pool of `anclora.engines.chromium_pool` that `anclora_startup` registers in
`ctx.engine_pools` for these converters (jobs receive it in `ConversionContext.resources`); without a pool (the
command line, plugin tests) a one-off browser starts for the conversion. The browser has no network: the document's
own files are served to it from the job's folder at an origin of its own, every other request is refused
(`page_sources`). Web pages are fetched by the server for the browser, from the hosts of `chromium_url_allowlist`
only.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

from anclora import (Availability, ConversionContext, ConversionFailed, Converter, UnsupportedMediaType, config,
                     hookimpl)
from anclora.config import Setting
from anclora.engines import chromium_options, sandbox, zipcheck
from anclora.engines.chromium_pool import ENGINE, EXECUTABLE, ChromiumPool
from anclora.engines.chromium_render import PageJob
from anclora.engines.page_sources import UrlGuard, document_origin, folder_router, host_list
from anclora.sniff import sniff

POOL = "chromium_pool"
INSTALL = "apt-get install chromium"
PANDOC_LIMITS = sandbox.Limits(cpu_seconds=120, file_bytes=256 * 2**20)
# Raw HTML stays: the page runs in the same sandbox as an HTML upload, so it can do nothing HTML could not.
MARKDOWN_READER = "markdown-raw_tex-raw_attribute"
MAX_URL_FILE = 8192
# Gotenberg's template call, with or without the `.DirPath` argument of its older versions; names stay in the zip
TO_HTML = re.compile(r'\{\{\s*toHTML\s+(?:\.DirPath\s+)?"([A-Za-z0-9_.-]+\.md)"\s*\}\}')


class ChromiumConverter(Converter):
    engine = ENGINE
    install = INSTALL
    limits = {"max_input_bytes": 50 * 2**20}

    def availability(self) -> Availability:
        if not Path(EXECUTABLE).is_file():
            return Availability(False, f"{EXECUTABLE} not found", self.install)
        return Availability(True)

    def page_job(self, url: str, router, dst: Path, options: dict[str, Any], target: str) -> PageJob:
        job = PageJob(url, router, dst, target, media=options.get("media"),
                      **chromium_options.wait_params(options))
        if target == "pdf":
            job.pdf = chromium_options.pdf_params(options)
        else:
            job.screenshot = chromium_options.screenshot_params(options)
        return job

    async def render(self, job: PageJob, ctx: ConversionContext) -> None:
        pool = ctx.resources.get(POOL)
        if pool is not None:
            await pool.render(job, ctx.timeout)
        else:
            async with ChromiumPool(size=1) as one_off:
                await one_off.render(job, ctx.timeout)
        sandbox.verify_output(job.dst, ctx.target_format)
        await ctx.progress(100)


class ChromiumDocumentConverter(ChromiumConverter):
    sources = ("html", "htmlzip", "md")

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        source = sniff(src, ctx.source_format)
        if source not in self.sources:
            raise UnsupportedMediaType(f"{self.name} does not read {source}")
        site = ctx.workdir / "site"
        site.mkdir()
        await lay_out(source, src, site, ctx)
        await ctx.progress(20)
        origin = document_origin()
        job = self.page_job(f"{origin}/index.html", folder_router(site, origin), dst, options, ctx.target_format)
        await self.render(job, ctx)


class ChromiumPdfConverter(ChromiumDocumentConverter):
    name = "chromium_pdf"
    targets = ("pdf",)
    options = chromium_options.PDF_OPTIONS


class ChromiumScreenshotConverter(ChromiumDocumentConverter):
    name = "chromium_screenshot"
    targets = ("png", "jpeg")
    options = chromium_options.SCREENSHOT_OPTIONS
    # Ask for png or jpeg: a chain on to webp or gif would pass through jpeg (the planner's tie-break), lossily.
    final_targets = ("png", "jpeg")


class ChromiumUrlConverter(ChromiumConverter):
    name = "chromium_url"
    sources = ("url",)
    targets = ("pdf",)
    options = chromium_options.PDF_OPTIONS
    final_targets = ("pdf",)  # whether it runs at all is the operator's allowlist, which chains cannot see

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        if sniff(src, ctx.source_format) != "url":
            raise UnsupportedMediaType(f"{self.name} reads a .url file holding one web address")
        pool = ctx.resources.get(POOL)
        guard = pool.url_guard if pool is not None and pool.url_guard is not None else UrlGuard([])
        url = read_url(src)
        guard.check(url)
        job = self.page_job(url, guard.router(), dst, options, ctx.target_format)
        await self.render(job, ctx)


class ChromiumUrlScreenshotConverter(ChromiumUrlConverter):
    name = "chromium_url_screenshot"
    targets = ("png", "jpeg")
    options = chromium_options.SCREENSHOT_OPTIONS
    final_targets = ("png", "jpeg")


async def lay_out(source: str, src: Path, site: Path, ctx: ConversionContext) -> None:
    """The document as the browser will see it: `site/index.html` and, from a zip, its assets beside it."""
    if source == "html":
        shutil.copyfile(src, site / "index.html")
    elif source == "htmlzip":
        zipcheck.check_zip(src)  # names, sizes and ratios are safe: extracting cannot climb out or flood
        with zipfile.ZipFile(src) as archive:
            archive.extractall(site)
        await fill_markdown(site / "index.html", ctx)
    else:
        await markdown_to_html(src, site / "index.html", ctx)


async def fill_markdown(index: Path, ctx: ConversionContext) -> None:
    """`{{ toHTML "notes.md" }}` in index.html (Gotenberg's Markdown template) becomes that file of the zip,
    rendered; a file that is not there is an error, as in Gotenberg."""
    html = index.read_text("utf-8", "replace")
    names = dict.fromkeys(TO_HTML.findall(html))
    if not names:
        return
    rendered = {}
    for name in names:
        if not (index.parent / name).is_file():
            raise ConversionFailed(f"index.html asks for {name!r}, which is not in the zip.")
        fragment = ctx.workdir / f"fragment-{len(rendered)}.html"
        await markdown_to_html(index.parent / name, fragment, ctx, standalone=False)
        rendered[name] = fragment.read_text("utf-8")
    index.write_text(TO_HTML.sub(lambda match: rendered[match.group(1)], html), encoding="utf-8")


async def markdown_to_html(src: Path, out: Path, ctx: ConversionContext, standalone: bool = True) -> None:
    """Markdown to a standalone HTML page (or a fragment) with pandoc 3 (pypandoc-binary's), `--sandbox`ed like
    markup's."""
    import pypandoc

    page = ["--standalone", "--metadata", "pagetitle=Document"] if standalone else []
    argv = [pypandoc.get_pandoc_path(), "+RTS", "-M512m", "-RTS", "--sandbox", "-f", MARKDOWN_READER,
            "-t", "html5", *page, "-o", str(out), "--", str(src)]
    result = await sandbox.run(argv, cwd=ctx.workdir, timeout=ctx.timeout, limits=PANDOC_LIMITS)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConversionFailed("pandoc could not read this Markdown",
                               details={"engine": lines[-1][:300] if lines else ""})


def read_url(src: Path) -> str:
    """The address in a .url file: one line holding it, or a Windows shortcut's `URL=` line."""
    if src.stat().st_size > MAX_URL_FILE:
        raise ConversionFailed("A .url file holds one web address.")
    lines = [line.strip() for line in src.read_text("utf-8", "replace").splitlines() if line.strip()]
    if lines and lines[0].lower() == "[internetshortcut]":
        lines = [line[4:].strip() for line in lines if line.lower().startswith("url=")]
    if len(lines) != 1 or not lines[0].lower().startswith(("http://", "https://")):
        raise ConversionFailed("A .url file holds one http or https address.")
    return lines[0]


@hookimpl
def anclora_register_converters():
    return [ChromiumPdfConverter(), ChromiumScreenshotConverter(), ChromiumUrlConverter(),
            ChromiumUrlScreenshotConverter()]


@hookimpl
def anclora_settings():
    return [
        Setting("pool_size", config.positive_int, 2, "Headless Chromium browsers kept running for HTML and "
                "Markdown. Also read as chromium_pool_size / ANCLORA_CHROMIUM_POOL_SIZE."),
        Setting("pool_prestart", config.boolean, False, "Start the Chromium browsers with the server (else at the "
                "first page). Also read as chromium_pool_prestart / ANCLORA_CHROMIUM_POOL_PRESTART."),
        Setting("recycle_after", config.positive_int, 100, "Pages after which a Chromium browser is replaced by a "
                "fresh one (memory creep). Also read as chromium_recycle_after / ANCLORA_CHROMIUM_RECYCLE_AFTER."),
        Setting("max_memory_mb", config.positive_int, 1024, "Memory (proportional set size of all its processes, "
                "MiB) above which a browser is replaced. Also read as chromium_max_memory_mb / "
                "ANCLORA_CHROMIUM_MAX_MEMORY_MB."),
        Setting("url_allowlist", host_list, [], "Hosts whose pages may be converted from a URL (url -> pdf, png, "
                "jpeg), comma separated: `example.com`, `*.example.com`, with an optional `:port` (else only 80 "
                "and 443). Empty: URL conversion is off. Loopback, private, link-local and metadata addresses are "
                "refused whatever this says. Also read as chromium_url_allowlist / ANCLORA_CHROMIUM_URL_ALLOWLIST."),
    ]


@hookimpl
def anclora_startup(ctx):
    settings = ctx.settings.plugin("chromium")
    pool = ChromiumPool(size=settings["pool_size"], recycle_after=settings["recycle_after"],
                        max_memory_bytes=settings["max_memory_mb"] * 2**20,
                        url_guard=UrlGuard(settings["url_allowlist"]), metrics=ctx.metrics)
    ctx.engine_pools.register(POOL, pool, [converter.name for converter in anclora_register_converters()])
    if settings["pool_prestart"] and ChromiumPdfConverter().availability().available:
        return pool.start()
    return None


@hookimpl
def anclora_shutdown(ctx):
    pool = ctx.engine_pools.unregister(POOL)
    if pool is None:
        return None
    pool.url_guard.close()
    return pool.close()
