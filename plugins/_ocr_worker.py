"""The OCR plugin's image check, run by plugins/ocr.py in the sandbox before OCRmyPDF sees an image.

Usage: python _ocr_worker.py SRC DST SOURCE pdf OPTIONS_JSON, where OPTIONS carry `max_pixels`, `max_frames` and
`max_total_pixels`.
Pillow reads only the header to learn the size, so an image bomb (huge pixel dimensions in a small file) is
refused before anything decodes it. DST receives `{"dpi": n or null, "image": name or null}`: `image` names a copy
flattened to RGB beside DST when the picture has transparency or a mode OCRmyPDF's image import refuses.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from PIL import Image

from anclora.engines.worker import Refused, serve

PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF"}
TAKEN_AS_IS = {"1", "L", "RGB", "CMYK"}  # modes img2pdf embeds without a conversion
MIN_CREDIBLE_DPI = 30  # below it the resolution is a placeholder (a screenshot's 1 dpi), not a scan's


def convert(src: Path, dst: Path, source: str, target: str, options: dict[str, Any]) -> None:
    image = open_image(src, source, options["max_pixels"])
    frames = getattr(image, "n_frames", 1)
    if frames > options["max_frames"]:
        raise Refused(f"the image has more than {options['max_frames']} pages")
    if frames * image.size[0] * image.size[1] > options["max_total_pixels"]:  # the first page's size stands in
        raise Refused(f"the image's pages hold more than {options['max_total_pixels'] // 1_000_000} megapixels")
    dpi = image.info.get("dpi")
    credible = dpi is not None and min(float(dpi[0]), float(dpi[1])) >= MIN_CREDIBLE_DPI
    flattened = None
    if frames == 1 and (image.mode not in TAKEN_AS_IS or "transparency" in image.info):
        flattened = dst.with_name(f"{dst.stem}-flat.png")
        flatten(image).save(flattened, dpi=dpi if credible else (300, 300))
    dst.write_text(json.dumps({"dpi": round(float(dpi[0])) if credible else None,
                               "image": flattened.name if flattened else None}))


def open_image(src: Path, source: str, max_pixels: int) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)  # Pillow only warns up to 2x its cap
    try:
        image = Image.open(src, formats=[PILLOW_FORMATS[source]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large(max_pixels) from None
    except (Image.UnidentifiedImageError, KeyError):
        raise Refused(f"the file is not a valid {source} image", "unsupported_media_type") from None
    width, height = image.size
    if width * height > max_pixels:
        raise too_large(max_pixels)
    return image


def too_large(max_pixels: int) -> Refused:
    return Refused(f"the image has more than {max_pixels // 1_000_000} megapixels; it is not OCRed",
                   details={"max_pixels": max_pixels})


def flatten(image: Image.Image) -> Image.Image:
    """On white, in RGB (or grey for grey pictures): what a scanner would have given."""
    grey = image.mode in ("L", "LA", "I", "I;16", "F")
    rgba = image.convert("RGBA")
    page = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    page.alpha_composite(rgba)
    return page.convert("L" if grey else "RGB")


if __name__ == "__main__":
    serve(convert)
