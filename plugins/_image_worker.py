"""The image worker: decodes with Pillow under caps and encodes the target (run by plugins/images.py, sandboxed).

Usage: python _image_worker.py SRC DST SOURCE TARGET OPTIONS_JSON
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from PIL import Image, ImageColor, ImageOps, ImageSequence

from anclora.engines.worker import Refused, progress, serve

MAX_PIXELS = 50_000_000  # per frame, read or written
MAX_FRAMES = 100
MAX_TOTAL_PIXELS = 200_000_000  # all frames together

# Pillow's own format names for each sniffed format: opening with exactly one keeps rare decoders (EPS, which
# runs Ghostscript, and the like) out of reach whatever the bytes claim.
PILLOW_FORMATS = {
    "png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF", "ico": "ICO",
    "avif": "AVIF", "heic": "HEIF", "pdf": "PDF",
}
ANIMATED = {"gif", "webp", "tiff", "pdf"}  # targets that keep every frame
NO_ALPHA = {"jpeg", "pdf"}
LOSSY = {"jpeg", "webp", "avif", "heic"}
ICO_MAX_SIDE = 256
ORIENTATION = 0x0112  # the EXIF tag


def warm() -> None:
    """In a warm worker, once: load every format plugin, which Pillow would otherwise import in each child (the
    formats a file may be opened with are still only the one its bytes show)."""
    Image.init()


def convert(src: Path, dst: Path, source: str, target: str, options: dict[str, Any]) -> None:
    frames = read_frames(src, source)
    progress(40)
    frames = [prepare(frame, target, options) for frame in frames]
    progress(70)
    write(frames, dst, target, options)


def open_image(src: Path, source: str) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    # Pillow only warns between 1x and 2x the cap; a warning here is a refusal.
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    if source == "heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
    try:
        return Image.open(src, formats=[PILLOW_FORMATS[source]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(f"the image has more than {MAX_PIXELS // 1_000_000} megapixels") from None
    except Image.UnidentifiedImageError:
        raise Refused(f"the file is not a valid {source} image", "unsupported_media_type") from None


def read_frames(src: Path, source: str) -> list[Image.Image]:
    image = open_image(src, source)
    check_size(image.size)
    if getattr(image, "n_frames", 1) == 1:  # one picture: decode it as it is, no copy
        image.load()
        return [image]
    frames, pixels = [], 0
    for index, frame in enumerate(ImageSequence.Iterator(image)):
        if index >= MAX_FRAMES:
            raise Refused(f"the image has more than {MAX_FRAMES} frames")
        check_size(frame.size)
        pixels += frame.size[0] * frame.size[1]
        if pixels > MAX_TOTAL_PIXELS:
            raise Refused(f"the frames hold more than {MAX_TOTAL_PIXELS // 1_000_000} megapixels together")
        copy = frame.copy()
        copy.info = dict(frame.info)
        frames.append(copy)
    return frames


def check_size(size: tuple[int, int]) -> None:
    width, height = size
    if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
        raise Refused(f"the image is {width}x{height}: more than {MAX_PIXELS // 1_000_000} megapixels")


def prepare(frame: Image.Image, target: str, options: dict[str, Any]) -> Image.Image:
    mode = frame.mode
    # Apply the EXIF orientation to the pixels, so the picture stays upright once the metadata is stripped.
    if frame.getexif().get(ORIENTATION, 1) != 1:
        frame = ImageOps.exif_transpose(frame)
    info = frame.info
    frame = resize(frame, options)
    frame = normalize_mode(frame, target, options.get("background", "#ffffff"))
    kept = ["duration", "loop", "icc_profile"]
    if frame.mode == mode:
        kept.append("transparency")
    if not options.get("strip_metadata", True):
        kept += ["exif", "xmp"]
    frame.info = {key: info[key] for key in kept if key in info}
    return frame


def resize(frame: Image.Image, options: dict[str, Any]) -> Image.Image:
    width, height = options.get("width"), options.get("height")
    if not width and not height:
        return frame
    ratio = frame.width / frame.height
    width = width or max(1, round(height * ratio))
    height = height or max(1, round(width / ratio))
    check_size((width, height))
    fit = options.get("fit", "contain")
    if fit == "fill":
        return frame.resize((width, height), Image.Resampling.LANCZOS)
    if fit == "cover":
        return ImageOps.fit(frame, (width, height), Image.Resampling.LANCZOS)
    return ImageOps.contain(frame, (width, height), Image.Resampling.LANCZOS)


def normalize_mode(frame: Image.Image, target: str, background: str) -> Image.Image:
    has_alpha = frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info)
    if target in NO_ALPHA and has_alpha:
        rgba = frame.convert("RGBA")
        flat = Image.new("RGB", rgba.size, ImageColor.getrgb(background)[:3])
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if target in NO_ALPHA or (target in ("avif", "heic") and frame.mode not in ("RGB", "RGBA")):
        mode = "RGBA" if has_alpha and target not in NO_ALPHA else "RGB"
        return frame if frame.mode == mode else frame.convert(mode)
    if frame.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
        return frame.convert("RGBA" if has_alpha else "RGB")
    return frame


def write(frames: list[Image.Image], dst: Path, target: str, options: dict[str, Any]) -> None:
    first = frames[0]
    params: dict[str, Any] = {key: first.info[key] for key in ("exif", "icc_profile", "xmp") if key in first.info}
    if target in LOSSY:
        params["quality"] = options.get("quality", 85)
    if target == "ico":
        params["sizes"] = [(min(ICO_MAX_SIDE, first.width), min(ICO_MAX_SIDE, first.height))]
    if target in ANIMATED and len(frames) > 1:
        params.update(save_all=True, append_images=frames[1:])
        if "duration" in first.info and target in ("gif", "webp"):
            params.update(duration=[frame.info.get("duration", first.info["duration"]) for frame in frames],
                          loop=first.info.get("loop", 0))
    if target == "heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
    first.save(dst, PILLOW_FORMATS[target], **params)


if __name__ == "__main__":
    serve(convert)
