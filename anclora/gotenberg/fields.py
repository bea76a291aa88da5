"""Gotenberg's form fields read as Gotenberg reads them (Go's booleans and integers, JSON metadata), mapped onto
our converters' options; a field we do not implement is refused by name, never ignored."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Callable

from ..errors import BadRequest

TRUE, FALSE = {"1", "t", "T", "TRUE", "true", "True"}, {"0", "f", "F", "FALSE", "false", "False"}
PDFA_LEVELS = {"PDF/A-1b": "1b", "PDF/A-2b": "2b", "PDF/A-3b": "3b"}  # Gotenberg's names -> our `pdfa` option
FORMAT_REFUSAL = ("The requested PDF format is not supported, or no PDF engine could apply it. "
                  "Valid formats include PDF/A-1b, PDF/A-2b, PDF/A-3b, and PDF/UA.")


def invalid(name: str, value: str, reason: str) -> BadRequest:
    return BadRequest(f"Invalid form data: form field '{name}' is invalid (got '{value}', resulting to {reason})")


def boolean(name: str, value: str) -> bool:
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise invalid(name, value, f'strconv.ParseBool: parsing "{value}": invalid syntax')


def integer(name: str, value: str) -> int:
    try:
        return int(value, 10)
    except ValueError:
        raise invalid(name, value, f'strconv.Atoi: parsing "{value}": invalid syntax') from None


def quality(name: str, value: str) -> int:
    number = integer(name, value)
    if not 1 <= number <= 100:
        raise invalid(name, value, "value is not between 1 and 100")
    return number


def resolution(name: str, value: str) -> int:
    number = integer(name, value)
    if number not in (75, 150, 300, 600, 1200):
        raise invalid(name, value, "value is not 75, 150, 300, 600 or 1200")
    return number


def page_ranges(name: str, value: str) -> str:
    if not all(part.strip().replace("-", "", 1).strip().isdigit() for part in value.split(",")):
        raise invalid(name, value, "not a page range such as '1-3,5'")
    return value


def pdfa(name: str, value: str) -> str:
    if value not in PDFA_LEVELS:
        raise BadRequest(FORMAT_REFUSAL)
    return PDFA_LEVELS[value]


def metadata(name: str, value: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except ValueError as error:
        raise invalid(name, value[:200], f"unmarshal metadata: {error}") from None
    if not isinstance(parsed, dict):
        raise invalid(name, value[:200], "unmarshal metadata: not a JSON object")
    return parsed


def text(name: str, value: str) -> str:
    return value


def number(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise invalid(name, value, f'strconv.ParseFloat: parsing "{value}": invalid syntax') from None


def length(name: str, value: str) -> str:
    """A paper size or margin: a number of inches, or with a unit (mm, cm, in, pt, px), as Gotenberg reads them."""
    if not re.fullmatch(r"\d+(\.\d+)?(mm|cm|in|pt|px)?", value.strip()):
        raise invalid(name, value, "not a length such as 8.5, 210mm or 1in")
    return value.strip()


def duration(name: str, value: str) -> float:
    """A Go duration (`500ms`, `2s`, `1.5s`) as seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", value.strip())
    if not match:
        raise invalid(name, value, f'time: invalid duration "{value}"')
    return float(match.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[match.group(2)]


def media(name: str, value: str) -> str:
    if value not in ("print", "screen"):
        raise invalid(name, value, "wrong value, expected either 'screen', 'print' or empty")
    return value


def image_format(name: str, value: str) -> str:
    if value not in ("png", "jpeg"):
        raise invalid(name, value, "wrong value, expected either 'png' or 'jpeg' (webp is not supported here)")
    return value


# Gotenberg's field -> (our option, parser). Options of the office converters' PDF export:
OFFICE_FIELDS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "landscape": ("landscape", boolean), "nativePageRanges": ("page_ranges", page_ranges),
    "exportFormFields": ("export_form_fields", boolean), "losslessImageCompression": ("lossless_images", boolean),
    "quality": ("quality", quality), "reduceImageResolution": ("reduce_image_resolution", boolean),
    "maxImageResolution": ("max_image_resolution", resolution), "pdfa": ("pdfa", pdfa), "pdfua": ("pdfua", boolean),
}
# ... of the pdf_pages step run after a conversion, merge or split (the encryption fields become its `protect`):
PERMISSION_FIELDS = {"allowPrinting": "allow_printing", "allowCopying": "allow_copying",
                     "allowModifying": "allow_modifying", "allowAnnotating": "allow_annotating",
                     "allowFillingForms": "allow_filling_forms", "allowAssembling": "allow_assembling"}
ENCRYPT_FIELDS = {"userPassword": ("user_password", text), "ownerPassword": ("owner_password", text),
                  **{name: (option, boolean) for name, option in PERMISSION_FIELDS.items()}}
FINISH_FIELDS = {"metadata": ("metadata", metadata), "flatten": ("flatten", boolean), **ENCRYPT_FIELDS}
SPLIT_FIELDS = {"splitMode": ("mode", text), "splitSpan": ("span", text), "splitUnify": ("unify", boolean)}
MERGE_FIELD = {"merge": ("merge", boolean)}
# ... of the Chromium converters (chromium_pdf, chromium_screenshot, chromium_url, chromium_url_screenshot):
CHROMIUM_PDF_FIELDS = {
    "paperWidth": ("paper_width", length), "paperHeight": ("paper_height", length),
    "marginTop": ("margin_top", length), "marginBottom": ("margin_bottom", length),
    "marginLeft": ("margin_left", length), "marginRight": ("margin_right", length),
    "preferCssPageSize": ("prefer_css_page_size", boolean), "printBackground": ("print_background", boolean),
    "landscape": ("landscape", boolean), "scale": ("scale", number), "nativePageRanges": ("page_ranges", page_ranges),
    "generateDocumentOutline": ("outline", boolean), "generateTaggedPdf": ("tagged", boolean),
}
CHROMIUM_WAIT_FIELDS = {
    "waitDelay": ("wait_delay", duration), "waitForExpression": ("wait_for_expression", text),
    "waitForSelector": ("wait_for_selector", text), "emulatedMediaType": ("media", media),
}
SCREENSHOT_FIELDS = {"width": ("width", integer), "height": ("height", integer), "clip": ("clip", boolean),
                     "quality": ("quality", quality), "format": ("format", image_format)}
FORMAT_FIELDS = {"pdfa": ("pdfa", pdfa), "pdfua": ("pdfua", boolean)}


def read(fields: dict[str, str], accepted: dict[str, tuple[str, Callable]]) -> dict[str, Any]:
    """Our options from the fields in `accepted`; any other non-empty field is refused by name."""
    for name, value in fields.items():
        if name not in accepted and value != "":
            raise BadRequest(f"Invalid form data: form field '{name}' is not supported by this server.")
    return {option: parse(name, fields[name]) for name, (option, parse) in accepted.items()
            if fields.get(name, "") != ""}


def formats(options: dict[str, Any]) -> dict[str, Any]:
    """The PDF/A and PDF/UA options asked for (`pdfua=false` asks for nothing); refused beside `metadata` or
    `flatten`, whose rewrite by pypdf would undo the conformance."""
    chosen = {key: value for key, value in pick(options, FORMAT_FIELDS).items() if value}
    if chosen.get("pdfa") and options.get("user_password"):
        raise BadRequest("Invalid form data: PDF/A format is incompatible with encryption")
    for name in ("metadata", "flatten", "userPassword", "ownerPassword"):
        if chosen and options.get(FINISH_FIELDS[name][0]):
            raise BadRequest(f"Invalid form data: form field '{name}' cannot be combined with 'pdfa' or 'pdfua' "
                             "on this server.")
    return chosen


def protection(options: dict[str, Any]) -> dict[str, Any]:
    """The finishing options with the encryption fields gathered into `protect`. As Gotenberg: without a
    password nothing is encrypted, and withheld permissions need one."""
    names = {option for option, _ in ENCRYPT_FIELDS.values()}
    chosen = {key: value for key, value in options.items() if key in names}
    rest = {key: value for key, value in options.items() if key not in names}
    if chosen.get("user_password") or chosen.get("owner_password"):
        return {**rest, "protect": chosen}
    if not all(chosen.get(option, True) for option in PERMISSION_FIELDS.values()):
        raise BadRequest("Invalid form data: permission restrictions require a 'userPassword' or 'ownerPassword'")
    return rest


def field_of(option: str) -> str:
    """The Gotenberg field an option of ours came from (for error messages)."""
    option = option.removeprefix("protect/")  # the encryption fields, gathered by `protection`
    for table in (OFFICE_FIELDS, FINISH_FIELDS, SPLIT_FIELDS, CHROMIUM_PDF_FIELDS, CHROMIUM_WAIT_FIELDS,
                  SCREENSHOT_FIELDS):
        for name, (mapped, _) in table.items():
            if mapped == option:
                return name
    return option


@dataclasses.dataclass
class Split:
    mode: str
    span: str
    unify: bool = False


def split(options: dict[str, Any]) -> Split:
    """The split request of a split route: both `splitMode` and `splitSpan` are required."""
    for name, option in (("splitMode", "mode"), ("splitSpan", "span")):
        if option not in options:
            raise BadRequest(f"Invalid form data: form field '{name}' is required")
    if options["mode"] not in ("intervals", "pages"):
        raise invalid("splitMode", options["mode"], "wrong value, expected either 'intervals' or 'pages'")
    if options.get("unify") and options["mode"] != "pages":
        raise invalid("splitUnify", "true", "unify is not available for split intervals")
    return Split(options["mode"], options["span"], options.get("unify", False))


def pick(options: dict[str, Any], table: dict[str, tuple[str, Callable]]) -> dict[str, Any]:
    """The options that came from the fields of `table`."""
    names = {option for option, _ in table.values()}
    return {key: value for key, value in options.items() if key in names}
