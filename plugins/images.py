"""Raster images (png, jpeg, webp, gif, bmp, tiff, ico, avif, heic) into each other and into pdf, with Pillow.

Pillow runs in a sandboxed child process (`_image_worker.py`) with a memory cap, so a decompression bomb costs one
failed conversion. The type comes from the bytes and Pillow opens the file with that one format only; SVG, EPS
and everything else Pillow could guess at are refused before any decoder runs.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Any

from anclora import Availability, Converter, UnsupportedMediaType, hookimpl
from anclora.engines import worker
from anclora.sniff import sniff

IMAGE_FORMATS = ("png", "jpeg", "webp", "gif", "bmp", "tiff", "ico", "avif", "heic")
WORKER = Path(__file__).with_name("_image_worker.py")
MAX_SIDE = 10_000


def _installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


class ImageConverter(Converter):
    name = "images"
    sources = IMAGE_FORMATS
    targets = IMAGE_FORMATS + ("pdf",)
    options = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "quality": {"type": "integer", "minimum": 1, "maximum": 100, "default": 85,
                        "description": "Encoder quality for jpeg, webp, avif and heic."},
            "width": {"type": "integer", "minimum": 1, "maximum": MAX_SIDE, "description": "Target width in pixels."},
            "height": {"type": "integer", "minimum": 1, "maximum": MAX_SIDE,
                       "description": "Target height in pixels."},
            "fit": {"enum": ["contain", "cover", "fill"], "default": "contain",
                    "description": "With both width and height: fit inside, crop to fill, or stretch."},
            "strip_metadata": {"type": "boolean", "default": True,
                               "description": "Drop EXIF and XMP (camera, GPS); the colour profile is kept."},
            "background": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$", "default": "#ffffff",
                           "description": "Colour behind transparent pixels for formats without alpha (jpeg, pdf)."},
        },
    }
    cost = 1
    final_targets = ("pdf",)  # pages of pixels: no text to extract, and pdf -> image gives the picture back
    limits = {"max_megapixels": 50, "max_frames": 100, "timeout": 120}
    memory_bytes = 1536 * 1024**2  # the worker's address space: 100 frames of 50 MP would not fit, and need not

    def __init__(self) -> None:
        # Formats whose codec this build of Pillow / pillow-heif lacks are not advertised at all.
        self.sources = tuple(fmt for fmt in self.sources if fmt != "avif" or codec_available("avif"))
        self.targets = tuple(fmt for fmt in self.targets if fmt not in ("avif", "heic") or codec_available(fmt))

    def engine_version(self) -> str:
        """Pillow's and pillow-heif's versions (read from their metadata: Pillow itself runs in the workers)."""
        known = self.__dict__.get("_engine_version")
        if known is None:
            known = self.__dict__["_engine_version"] = ",".join(
                f"{name}:{_installed_version(name)}" for name in ("pillow", "pillow-heif"))
        return known

    def availability(self) -> Availability:
        for module in ("PIL", "pillow_heif"):
            if importlib.util.find_spec(module) is None:
                return Availability(False, f"the Python package {module} is not installed",
                                    "pip install pillow pillow-heif")
        return super().availability()

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx) -> None:
        """Decode `src` as the format its bytes show, encode `ctx.target_format` into `dst`."""
        found = sniff(src, ctx.source_format)
        if found not in self.sources:
            raise UnsupportedMediaType(f"a {found} file is not accepted as an image")
        await ctx.progress(5)
        await worker.run_worker(
            WORKER, src, dst, found, options, ctx,
            memory_bytes=self.memory_bytes, cpu_seconds=self.limits["timeout"], timeout=self.limits["timeout"])
        await ctx.progress(100)


CODEC_PROBE = """
found = []
try:
    from PIL import features
    if features.check("avif"):
        found.append("avif")
except Exception:
    pass
try:
    import pillow_heif
    if pillow_heif.libheif_info().get("HEIF"):
        found.append("heic")
except Exception:
    pass
print(*found)
"""


def codec_available(fmt: str) -> bool:
    """Whether this machine's Pillow can decode avif, or pillow-heif can encode heic. Asked of a child process
    (once), so that the server itself never loads the image libraries; a broken codec is simply absent."""
    return fmt in worker.probe(CODEC_PROBE).split()


@hookimpl
def anclora_register_converters():
    return [ImageConverter()]
