"""A watermark drawn on pages with pypdf: a line of text in one of the 14 standard PDF fonts, or an image (PNG or
JPEG, sent base64), at a position, turned by a rotation, with an opacity, over or under the page's content.
Used by `_pdf_worker.py` inside the sandbox.

The mark is sized as a fraction of the page's width (`scale`), as pdfcpu's relative scale does, so one option
fits every page size. Text is measured with the fonts' own metrics and kept to what their WinAnsi encoding can
show; an image is checked for its pixel count before it is decoded (a decompression bomb stays compressed).
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import warnings
from typing import Any

from pypdf._codecs.core_font_metrics import CORE_FONT_METRICS
from pypdf.generic import (ArrayObject, DictionaryObject, FloatObject, NameObject, NumberObject, StreamObject)

from anclora.engines.worker import Refused

POSITIONS = {"top-left": (0, 2), "top": (1, 2), "top-right": (2, 2), "left": (0, 1), "center": (1, 1),
             "right": (2, 1), "bottom-left": (0, 0), "bottom": (1, 0), "bottom-right": (2, 0)}
MARGIN = 0.03  # of the page's smaller side, between a mark placed at an edge and that edge
MAX_WATERMARK_PIXELS = 25_000_000
NAMES = {"font": "/AncloraMarkFont", "state": "/AncloraMarkState", "image": "/AncloraMarkImage"}


def refuse(reason: str) -> Refused:
    return Refused("The watermark cannot be applied.", details={"reason": reason})


class Mark:
    """What one watermark draws, built once and placed on each page."""

    def __init__(self, writer, options: dict[str, Any]):
        self.options = options
        self.scale = float(options.get("scale", 0.5))
        self.rotation = math.radians(float(options.get("rotation", 45)))
        self.state = writer._add_object(DictionaryObject({
            NameObject("/Type"): NameObject("/ExtGState"),
            NameObject("/ca"): FloatObject(options.get("opacity", 0.5)),
            NameObject("/CA"): FloatObject(options.get("opacity", 0.5))}))
        if "image" in options:
            self.image, self.ratio = image_xobject(writer, options["image"])
        else:
            self.text, self.font = text_bytes(options["text"]), options.get("font", "Helvetica")
            metrics = CORE_FONT_METRICS[self.font]
            widths = metrics.character_widths
            self.em_width = sum(widths.get(bytes([code]).decode("cp1252"), widths["default"])
                                for code in self.text) / 1000
            self.cap_height = (metrics.font_descriptor.cap_height or 700) / 1000
            self.font_ref = writer._add_object(DictionaryObject({
                NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject(f"/{self.font}"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))

    def size(self, page_width: float) -> tuple[float, float]:
        """Width and height of the mark, before rotation, on a page this wide."""
        width = self.scale * page_width
        if "image" in self.options:
            return width, width * self.ratio
        return width, width / self.em_width * self.cap_height

    def centre(self, shown: tuple[float, float], width: float, height: float) -> tuple[float, float]:
        """Where the mark's centre goes on the page as shown (`shown` is its width and height, origin at its
        lower left): at an edge position, the turned mark's bounding box stays inside."""
        cos, sin = abs(math.cos(self.rotation)), abs(math.sin(self.rotation))
        half_x, half_y = (width * cos + height * sin) / 2, (width * sin + height * cos) / 2
        margin = MARGIN * min(shown)
        column, row = POSITIONS[self.options.get("position", "center")]
        x = (margin + half_x, shown[0] / 2, shown[0] - margin - half_x)[column]
        y = (margin + half_y, shown[1] / 2, shown[1] - margin - half_y)[row]
        return x, y

    def content(self, box, turned: int) -> bytes:
        """The drawing operators for one page whose visible box is `box` and that viewers turn clockwise by
        `turned` degrees (its /Rotate): the mark is placed and angled as the page is shown."""
        left, bottom, right, top = (float(value) for value in box)
        across, up = right - left, top - bottom
        shown = (up, across) if turned in (90, 270) else (across, up)
        width, height = self.size(shown[0])
        x, y = self.centre(shown, width, height)
        # from the shown page back to the page's own space (turned clockwise by the viewer)
        x, y = {0: (x, y), 90: (across - y, x), 180: (across - x, up - y), 270: (y, up - x)}[turned]
        angle = self.rotation + math.radians(turned)
        cos, sin = math.cos(angle), math.sin(angle)
        # the mark's lower-left corner, turned about its centre
        ox = left + x - (width * cos - height * sin) / 2
        oy = bottom + y - (width * sin + height * cos) / 2
        head = f"q {NAMES['state']} gs "
        if "image" in self.options:
            matrix = f"{width * cos:.4f} {width * sin:.4f} {-height * sin:.4f} {height * cos:.4f} {ox:.4f} {oy:.4f}"
            return f"{head}{matrix} cm {NAMES['image']} Do Q\n".encode()
        size = width / self.em_width
        red, green, blue = colour(self.options.get("color", "#808080"))
        matrix = f"{cos:.6f} {sin:.6f} {-sin:.6f} {cos:.6f} {ox:.4f} {oy:.4f}"
        return (f"{head}{red:.3f} {green:.3f} {blue:.3f} rg BT {NAMES['font']} {size:.3f} Tf {matrix} Tm "
                f"<{self.text.hex()}> Tj ET Q\n").encode()

    def resources(self) -> dict[str, tuple[str, Any]]:
        """Resource category -> (name, object) this mark's content uses."""
        used = {"/ExtGState": (NAMES["state"], self.state)}
        if "image" in self.options:
            used["/XObject"] = (NAMES["image"], self.image)
        else:
            used["/Font"] = (NAMES["font"], self.font_ref)
        return used


def text_bytes(text: str) -> bytes:
    try:
        return text.encode("cp1252")
    except UnicodeEncodeError as error:
        raise refuse(f"the standard fonts cannot show {text[error.start]!r}; use Latin characters") from None


def colour(value: str) -> tuple[float, float, float]:
    return tuple(int(value[index:index + 2], 16) / 255 for index in (1, 3, 5))


def image_xobject(writer, encoded: str):
    """The image as a PDF image (its alpha channel as a soft mask) and its height/width ratio."""
    from PIL import Image

    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise refuse("the image is not valid base64") from None
    Image.MAX_IMAGE_PIXELS = MAX_WATERMARK_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as image:
                if image.width * image.height > MAX_WATERMARK_PIXELS:
                    raise refuse(f"the image is larger than {MAX_WATERMARK_PIXELS} pixels")
                image.load()
                rgba = image.convert("RGBA")
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise refuse(f"the image is larger than {MAX_WATERMARK_PIXELS} pixels") from None
    except (OSError, ValueError, SyntaxError):
        raise refuse("the image is not a readable PNG or JPEG") from None
    width, height = rgba.size
    picture = _image_stream(rgba.convert("RGB").tobytes(), width, height, "/DeviceRGB")
    picture[NameObject("/SMask")] = writer._add_object(
        _image_stream(rgba.getchannel("A").tobytes(), width, height, "/DeviceGray"))
    return writer._add_object(picture), height / width


def _image_stream(raw: bytes, width: int, height: int, space: str) -> StreamObject:
    stream = StreamObject()
    stream.set_data(raw)
    stream.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
                   NameObject("/Width"): NumberObject(width), NameObject("/Height"): NumberObject(height),
                   NameObject("/ColorSpace"): NameObject(space), NameObject("/BitsPerComponent"): NumberObject(8)})
    return stream.flate_encode()


def _stream(writer, data: bytes):
    stream = StreamObject()
    stream.set_data(data)
    return writer._add_object(stream)


def apply(writer, options: dict[str, Any], pages: list[int]) -> None:
    """Draw the watermark on the writer's pages numbered in `pages` (1-based)."""
    mark = Mark(writer, options)
    over = options.get("layer", "over") == "over"
    for number in pages:
        page = writer.pages[number - 1]
        resources = page.setdefault(NameObject("/Resources"), DictionaryObject()).get_object()
        for category, (name, ref) in mark.resources().items():
            resources.setdefault(NameObject(category), DictionaryObject()).get_object()[NameObject(name)] = ref
        turned = int(page.rotation) % 360
        drawn = _stream(writer, mark.content(page.cropbox, turned if turned in (90, 180, 270) else 0))
        contents = page.get("/Contents")
        resolved = contents.get_object() if contents is not None else None
        existing = list(resolved) if isinstance(resolved, ArrayObject) else ([contents] if contents else [])
        if over:  # the page's own drawing is closed in q/Q, so its state cannot leak into the mark
            parts = [_stream(writer, b"q\n"), *existing, _stream(writer, b"\nQ\n"), drawn] if existing else [drawn]
        else:
            parts = [drawn, *existing]
        page[NameObject("/Contents")] = ArrayObject(parts)
