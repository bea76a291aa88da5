"""Gotenberg's PDF tool routes on the `pdf_pages` converter: `/forms/pdfengines/encrypt` (qpdf's AES-256, as
Gotenberg's qpdf engine), `/watermark` (under the content) and `/stamp` (over it), `/optimize` (images re-encoded
as JPEG at `imageQuality`). One watermark or stamp per request; its `*Options` are pdfcpu's description keys
(`opacity`, `rotation`, `position`, `scale`, `font`, `color`), with pdfcpu's defaults. The encryption fields
also finish the other routes (`fields.protection`)."""

from __future__ import annotations

import base64
import json
from typing import Any

from ..db.models import File
from ..errors import BadRequest
from . import fields
from .routes import Answer, answer, require_pdfs
from .work import Work

SOURCE_REFUSAL = ("The requested stamp source is not supported, or no PDF engine could process it. "
                  "Valid sources: 'text', 'image', 'pdf'.")
PDFCPU_DEFAULTS = {"opacity": 1.0, "rotation": 45.0, "scale": 0.5}  # pdfcpu: opaque, diagonal, half the width
POSITIONS = {"tl": "top-left", "tc": "top", "tr": "top-right", "l": "left", "c": "center", "r": "right",
             "bl": "bottom-left", "bc": "bottom", "br": "bottom-right"}
OPTION_KEYS = {"opacity": "opacity", "op": "opacity", "rotation": "rotation", "rot": "rotation",
               "position": "position", "pos": "position", "scale": "scale", "scalefactor": "scale", "sc": "scale",
               "font": "font", "fontname": "font", "color": "color", "fillcolor": "color", "fillc": "color"}
PARTS = {"text": "Expression", "pages": "Pages"}  # the watermark option's fields; the rest come from `*Options`
MAX_IMAGE_BYTES = 700 * 1024  # base64 of it stays within the option's limit


def quality(name: str, value: str) -> int:
    """Gotenberg's `imageQuality`: 1 to 100, with its own words for the bounds."""
    number = fields.integer(name, value)
    if number < 1:
        raise fields.invalid(name, value, "value is inferior to 1")
    if number > 100:
        raise fields.invalid(name, value, "value is superior to 100")
    return number


async def each_pdf(work: Work, inputs: list[File], options: dict[str, Any]) -> Answer:
    """Every input through one `pdf_pages` job with `options`; one PDF back, or a zip under their names."""
    done = await work.convert_all(inputs, "pdf", options, converter="pdf_pages")
    return await answer(work, done, [record.filename for record in inputs])


async def encrypt(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    require_pdfs(inputs)
    options = fields.read(form, fields.ENCRYPT_FIELDS)
    if not options.get("user_password") and not options.get("owner_password"):
        raise BadRequest("Invalid form data: a 'userPassword' or 'ownerPassword' is required")
    return await each_pdf(work, inputs, fields.protection(options))


async def optimize(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    require_pdfs(inputs)
    # the route optimizes whatever `optimizeImages` says, as Gotenberg's does; only the quality counts
    options = fields.read(form, {"imageQuality": ("image_quality", quality),
                                 "optimizeImages": ("optimize_images", fields.boolean)})
    return await each_pdf(work, inputs, {"image_quality": options.get("image_quality", 80)})


def option_value(prefix: str, key: str, value: Any) -> Any:
    """One pdfcpu description entry as our watermark option's value."""
    def bad(reason: str) -> BadRequest:
        return BadRequest(f"Invalid form data: form field '{prefix}Options' is invalid ({key}: {reason})")

    option, text = OPTION_KEYS.get(key), str(value).strip()
    if option is None:
        raise bad("not supported by this server")
    if option == "position":
        if text not in POSITIONS and text not in POSITIONS.values():
            raise bad(f"expected one of {', '.join(POSITIONS)}")
        return POSITIONS.get(text, text)
    if option in ("font", "color"):
        return text
    number, _, mode = text.partition(" ")
    if option == "scale" and mode not in ("", "rel"):
        raise bad("only a relative scale is supported by this server")
    try:
        return float(number)
    except ValueError:
        raise bad("not a number") from None


def mark_options(prefix: str, form: dict[str, str]) -> dict[str, Any]:
    raw = form.get(f"{prefix}Options", "")
    try:
        described = json.loads(raw) if raw else {}
    except ValueError:
        described = None
    if not isinstance(described, dict) or not all(isinstance(v, (str, int, float)) for v in described.values()):
        raise BadRequest(f"Invalid form data: form field '{prefix}Options' is invalid")
    return {**PDFCPU_DEFAULTS, **{OPTION_KEYS.get(key, key): option_value(prefix, key, value)
                                  for key, value in described.items()}}


async def mark_image(work: Work, prefix: str) -> str:
    images = work.side_files.get(prefix, [])
    if not images:
        raise BadRequest(f"Invalid form data: a {prefix} file is required for image or pdf source")
    image = images[0]
    if image.format not in ("png", "jpeg"):
        raise BadRequest(f"Invalid form data: the {prefix} file must be a PNG or JPEG image on this server")
    if image.size > MAX_IMAGE_BYTES:
        raise BadRequest(f"Invalid form data: the {prefix} file is larger than {MAX_IMAGE_BYTES} bytes")
    return base64.b64encode(await work.read_bytes(image)).decode()


async def mark(work: Work, inputs: list[File], form: dict[str, str], prefix: str, layer: str) -> Answer:
    """A watermark (`layer` under) or a stamp (over) from the `<prefix>Source`, `Expression`, `Pages` and
    `Options` fields, and for an image the file sent in the `<prefix>` field."""
    require_pdfs(inputs)
    names = [f"{prefix}{part}" for part in ("Source", "Expression", "Pages", "Options")]
    fields.read(form, {name: (name, fields.text) for name in names})
    repeated = sorted(work.repeated & set(names))
    if repeated:
        raise BadRequest(f"Invalid form data: form field '{repeated[0]}' is repeated; this server applies one "
                         f"{prefix} per request")
    source = form.get(f"{prefix}Source", "")
    if not source:
        raise BadRequest(f"Invalid form data: form field '{prefix}Source' is required")
    if source not in ("text", "image", "pdf"):
        raise fields.invalid(f"{prefix}Source", source, "wrong value, expected either 'text', 'image' or 'pdf'")
    if source == "pdf":
        raise BadRequest(SOURCE_REFUSAL)
    options = {**mark_options(prefix, form), "layer": layer}
    if form.get(f"{prefix}Pages"):
        options["pages"] = fields.page_ranges(f"{prefix}Pages", form[f"{prefix}Pages"])
    if source == "image":
        options["image"] = await mark_image(work, prefix)
    elif form.get(f"{prefix}Expression"):
        options["text"] = form[f"{prefix}Expression"]
    else:
        raise BadRequest(f"Invalid form data: form field '{prefix}Expression' is required")
    try:
        return await each_pdf(work, inputs, {"watermark": options})
    except BadRequest as error:
        raise renamed(error, prefix) from None


def renamed(error: BadRequest, prefix: str) -> BadRequest:
    """A refusal of the watermark option as Gotenberg names it: the form field its value came from."""
    details = error.details if isinstance(error.details, list) else []
    named = [f"form field '{prefix}{PARTS.get(item['path'].partition('/')[2], 'Options')}' is invalid "
             f"({item['message']})" for item in details if str(item.get("path", "")).startswith("watermark/")]
    return BadRequest(f"Invalid form data: {'; '.join(named)}") if named else error


async def watermark(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    return await mark(work, inputs, form, "watermark", "under")


async def stamp(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    return await mark(work, inputs, form, "stamp", "over")


PDF_TOOL_ROUTES = {
    "pdfengines/encrypt": encrypt,
    "pdfengines/optimize": optimize,
    "pdfengines/watermark": watermark,
    "pdfengines/stamp": stamp,
}
