"""The options of Chromium conversions (JSON Schema) and their translation into DevTools parameters."""

from __future__ import annotations

import re
from typing import Any

LENGTH_PATTERN = r"^\d+(\.\d+)?(mm|cm|in|pt|px)?$"
INCHES_PER = {"in": 1.0, "mm": 1 / 25.4, "cm": 1 / 2.54, "pt": 1 / 72, "px": 1 / 96}
MM = 1 / 25.4
PAPER_SIZES = {  # inches, portrait
    "A3": (297 * MM, 420 * MM), "A4": (210 * MM, 297 * MM), "A5": (148 * MM, 210 * MM), "A6": (105 * MM, 148 * MM),
    "Letter": (8.5, 11.0), "Legal": (8.5, 14.0), "Tabloid": (11.0, 17.0),
}
MAX_TEMPLATE = 64 * 1024  # header or footer HTML
MAX_SCREENSHOT_HEIGHT = 16384  # a full-page capture stops there (Chromium's own texture limit)


def length(description: str, default: str | None = None) -> dict[str, Any]:
    schema = {"type": "string", "pattern": LENGTH_PATTERN, "maxLength": 20,
              "description": f"{description} A number with a unit: mm, cm, in, pt or px (no unit: inches)."}
    if default is not None:
        schema["default"] = default
    return schema


WAIT_OPTIONS: dict[str, Any] = {
    "wait_for_selector": {"type": "string", "minLength": 1, "maxLength": 1000,
                          "description": "Wait until an element matching this CSS selector exists."},
    "wait_for_expression": {"type": "string", "minLength": 1, "maxLength": 4000,
                            "description": "Wait until this JavaScript expression is true on the page."},
    "wait_delay": {"type": "number", "minimum": 0, "maximum": 30, "default": 0,
                   "description": "Seconds to wait after the page loaded (and after the waits above)."},
}

PDF_OPTIONS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "paper": {"type": "string", "enum": list(PAPER_SIZES), "default": "A4", "description": "Paper size."},
        "paper_width": length("Paper width; overrides `paper`."),
        "paper_height": length("Paper height; overrides `paper`."),
        "margin_top": length("Top margin.", "1cm"),
        "margin_bottom": length("Bottom margin.", "1cm"),
        "margin_left": length("Left margin.", "1cm"),
        "margin_right": length("Right margin.", "1cm"),
        "landscape": {"type": "boolean", "default": False, "description": "Landscape orientation."},
        "scale": {"type": "number", "minimum": 0.1, "maximum": 2, "default": 1,
                  "description": "Scale of the page rendering."},
        "print_background": {"type": "boolean", "default": False,
                             "description": "Print background colours and images."},
        "prefer_css_page_size": {"type": "boolean", "default": False,
                                 "description": "Let the page's CSS @page size win over the paper size."},
        "page_ranges": {"type": "string", "maxLength": 200,
                        "pattern": r"^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$",
                        "description": "Pages to keep, such as '1-3,5' (default: all)."},
        "tagged": {"type": "boolean", "default": False,
                   "description": "Make a tagged (accessible) PDF: its structure follows the HTML's."},
        "outline": {"type": "boolean", "default": False,
                    "description": "Add bookmarks from the headings (h1-h6); implies `tagged`."},
        "header_html": {"type": "string", "maxLength": MAX_TEMPLATE,
                        "description": "HTML printed at the top of every page; elements with the classes date, "
                                       "title, url, pageNumber and totalPages are filled in."},
        "footer_html": {"type": "string", "maxLength": MAX_TEMPLATE,
                        "description": "HTML printed at the bottom of every page (same classes as the header)."},
        "media": {"type": "string", "enum": ["print", "screen"], "default": "print",
                  "description": "CSS media type the page is rendered for."},
        **WAIT_OPTIONS,
    },
    "additionalProperties": False,
}

SCREENSHOT_OPTIONS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "width": {"type": "integer", "minimum": 100, "maximum": 3840, "default": 1280,
                  "description": "Viewport width in pixels (the image's width)."},
        "height": {"type": "integer", "minimum": 100, "maximum": 3840, "default": 800,
                   "description": "Viewport height in pixels (the image's height unless `full_page`)."},
        "full_page": {"type": "boolean", "default": False,
                      "description": f"Capture the whole page, up to {MAX_SCREENSHOT_HEIGHT} pixels high."},
        "quality": {"type": "integer", "minimum": 1, "maximum": 100, "default": 90,
                    "description": "JPEG quality (jpeg only)."},
        "media": {"type": "string", "enum": ["print", "screen"], "default": "screen",
                  "description": "CSS media type the page is rendered for."},
        **WAIT_OPTIONS,
    },
    "additionalProperties": False,
}


def inches(value: str) -> float:
    match = re.match(r"^(\d+(?:\.\d+)?)([a-z]*)$", value.strip())
    return float(match.group(1)) * INCHES_PER[match.group(2) or "in"]


def pdf_params(options: dict[str, Any]) -> dict[str, Any]:
    """Page.printToPDF's parameters for validated PDF options (defaults filled in here)."""
    width, height = PAPER_SIZES[options.get("paper", "A4")]
    params: dict[str, Any] = {
        "paperWidth": inches(options["paper_width"]) if "paper_width" in options else width,
        "paperHeight": inches(options["paper_height"]) if "paper_height" in options else height,
        "landscape": options.get("landscape", False),
        "scale": options.get("scale", 1),
        "printBackground": options.get("print_background", False),
        "preferCSSPageSize": options.get("prefer_css_page_size", False),
        # tagging costs about a third more time and size; Chromium builds the outline from the tags
        "generateTaggedPDF": options.get("tagged", False) or options.get("outline", False),
        "generateDocumentOutline": options.get("outline", False),
    }
    for side in ("top", "bottom", "left", "right"):
        params[f"margin{side.title()}"] = inches(options.get(f"margin_{side}", "1cm"))
    if options.get("page_ranges"):
        params["pageRanges"] = re.sub(r"\s+", "", options["page_ranges"])
    if "header_html" in options or "footer_html" in options:
        params.update(displayHeaderFooter=True,  # an empty template, not Chromium's date-and-title default
                      headerTemplate=options.get("header_html") or "<span></span>",
                      footerTemplate=options.get("footer_html") or "<span></span>")
    return params


def screenshot_params(options: dict[str, Any]) -> dict[str, Any]:
    return {"width": options.get("width", 1280), "height": options.get("height", 800),
            "full_page": options.get("full_page", False), "quality": options.get("quality", 90),
            "max_height": MAX_SCREENSHOT_HEIGHT}


def wait_params(options: dict[str, Any]) -> dict[str, Any]:
    return {"wait_selector": options.get("wait_for_selector"), "wait_expression": options.get("wait_for_expression"),
            "wait_delay": float(options.get("wait_delay", 0))}
