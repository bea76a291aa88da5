"""Gotenberg's Chromium routes on our Chromium converters: an HTML page with its assets, a Markdown template with
its Markdown files, or an allowlisted URL, to a PDF (`chromium_pdf`, `chromium_url`) or a screenshot
(`chromium_screenshot`, `chromium_url_screenshot`)."""

from __future__ import annotations

from typing import Any

from ..db.models import File
from ..errors import BadRequest
from . import fields
from .routes import Answer, finish
from .work import Work

# Gotenberg's defaults where ours differ: Letter paper, 0.39 in margins; 800x600 screenshots at quality 100.
PDF_DEFAULTS = {"paper_width": "8.5in", "paper_height": "11in", "margin_top": "0.39in",
                "margin_bottom": "0.39in", "margin_left": "0.39in", "margin_right": "0.39in"}
SCREENSHOT_DEFAULTS = {"width": 800, "height": 600, "quality": 100}
TEMPLATES = {"header.html": "header_html", "footer.html": "footer_html"}


def index_of(inputs: list[File]) -> list[File]:
    """The page's files (index.html first); header.html and footer.html are not part of it."""
    if not any(record.filename == "index.html" for record in inputs):
        raise BadRequest("Invalid form data: form file 'index.html' is required")
    return [record for record in inputs if record.filename not in TEMPLATES]


async def templates(work: Work, inputs: list[File]) -> dict[str, str]:
    """header.html and footer.html, as the PDF's header and footer templates."""
    found = {}
    for record in inputs:
        if record.filename in TEMPLATES:
            found[TEMPLATES[record.filename]] = (await work.read_bytes(record)).decode("utf-8", "replace")
    return found


def pdf_options(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Our PDF options (Gotenberg's defaults filled in) and the finishing ones (metadata, flatten)."""
    options = fields.read(form, {**fields.CHROMIUM_PDF_FIELDS, **fields.CHROMIUM_WAIT_FIELDS,
                                 **fields.FINISH_FIELDS})
    finishing = fields.pick(options, fields.FINISH_FIELDS)
    return {**PDF_DEFAULTS, **{key: value for key, value in options.items() if key not in finishing}}, finishing


def screenshot_options(form: dict[str, str]) -> tuple[dict[str, Any], str]:
    """Our screenshot options and the image format. Gotenberg's `clip` keeps the image to the viewport;
    without it the whole page is captured."""
    options = {**SCREENSHOT_DEFAULTS, **fields.read(form, {**fields.SCREENSHOT_FIELDS, **fields.CHROMIUM_WAIT_FIELDS})}
    target = options.pop("format", "png")
    options["full_page"] = not options.pop("clip", False)
    if target != "jpeg":
        options.pop("quality")
    return options, target


async def page_to_pdf(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    """`/forms/chromium/convert/html` and `/markdown`: the files as one zipped site, printed."""
    options, finishing = pdf_options({**form})
    options.update(await templates(work, inputs))
    site = await work.bundle([(record.filename, record) for record in index_of(inputs)], fmt="htmlzip")
    pdf = await work.convert(site, "pdf", options, converter="chromium_pdf")
    return Answer((await finish(work, [pdf], finishing))[0])


async def page_screenshot(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    """`/forms/chromium/screenshot/html` and `/markdown`."""
    options, target = screenshot_options(form)
    site = await work.bundle([(record.filename, record) for record in index_of(inputs)], fmt="htmlzip")
    return Answer(await work.convert(site, target, options, converter="chromium_screenshot"))


async def address(work: Work, form: dict[str, str]) -> tuple[File, dict[str, str]]:
    """The `url` field as a .url file for the converters (whose allowlist decides), and the other fields."""
    url = form.get("url", "").strip()
    if not url:
        raise BadRequest("Invalid form data: form field 'url' is required")
    rest = {name: value for name, value in form.items() if name != "url"}
    return await work.store("page.url", url.encode() + b"\n", "url"), rest


async def url_to_pdf(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    """`/forms/chromium/convert/url`."""
    record, rest = await address(work, form)
    options, finishing = pdf_options(rest)
    options.update(await templates(work, inputs))
    pdf = await work.convert(record, "pdf", options, converter="chromium_url")
    return Answer((await finish(work, [pdf], finishing))[0])


async def url_screenshot(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    """`/forms/chromium/screenshot/url`."""
    record, rest = await address(work, form)
    options, target = screenshot_options(rest)
    return Answer(await work.convert(record, target, options, converter="chromium_url_screenshot"))


CHROMIUM_ROUTES = {
    "chromium/convert/html": page_to_pdf,
    "chromium/convert/markdown": page_to_pdf,
    "chromium/convert/url": url_to_pdf,
    "chromium/screenshot/html": page_screenshot,
    "chromium/screenshot/markdown": page_screenshot,
    "chromium/screenshot/url": url_screenshot,
}
