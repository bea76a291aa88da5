"""OCRmyPDF (with Tesseract and Ghostscript) in the sandbox: a text layer by OCR, and PDF/A, page by page.

OCRmyPDF is a Python program of its own (Debian's `ocrmypdf`, run by the system's interpreter, never imported
by the server). Its progress reaches us through a plugin of its own, `_ocrmypdf_progress.py`, which prints one
JSON line per page done; its exit status names what went wrong (encrypted input, bad input, a PDF/A failure).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Callable

from ..errors import ConversionFailed
from . import sandbox

EXECUTABLES = ("ocrmypdf", "tesseract", "gs")
INSTALL = "apt-get install ocrmypdf tesseract-ocr tesseract-ocr-eng ghostscript"
PROGRESS_PLUGIN = Path(__file__).with_name("_ocrmypdf_progress.py")
# Ghostscript and Tesseract both tolerate an address-space cap; pages are bounded before they get here
LIMITS = sandbox.Limits(cpu_seconds=600, file_bytes=1024 * 2**20, memory_bytes=3 * 2**30)
MAX_IMAGE_MPIXELS = 100  # OCRmyPDF's own decompression-bomb guard, behind the converters' checks
PDFA_TYPES = {"1b": "pdfa-1", "2b": "pdfa-2", "3b": "pdfa-3"}
EXIT_REASONS = {  # OCRmyPDF's exit codes (ocrmypdf.exceptions.ExitCode)
    2: "the options were refused by OCRmyPDF",
    3: "the file could not be read as a PDF or an image",
    5: "a program OCRmyPDF needs is missing",
    6: "the PDF already has text; ask for `force` or `redo`",
    7: "Tesseract or Ghostscript failed on this file",
    8: "the PDF is encrypted",
    10: "Ghostscript could not write it as PDF/A",
}

OnPage = Callable[[float], None]  # percent of the pages done: a synchronous callback (a worker.ProgressRelay)


@dataclasses.dataclass(frozen=True)
class Ocr:
    """What to do to each page: OCR it (in `languages`) or not, deskew, rotate, and what to do with pages that
    already have text (`existing`: "skip" them, "force" a rasterised OCR, "redo" an earlier OCR layer)."""

    enabled: bool = True
    languages: tuple[str, ...] = ("eng",)
    deskew: bool = False
    rotate_pages: bool = False
    existing: str = "skip"


NO_OCR = Ocr(enabled=False)


def available() -> bool:
    return all(shutil.which(name) for name in EXECUTABLES)


@functools.cache
def languages() -> tuple[str, ...]:
    """The Tesseract languages installed here (`tesseract-ocr-<code>` packages), without its script models."""
    try:
        listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ()
    names = [line.strip() for line in listed.stdout.splitlines()[1:] if line.strip()]
    return tuple(sorted(name for name in names if name != "osd" and "/" not in name))


def argv(src: Path, dst: Path, ocr: Ocr, *, pdfa: str | None = None, image_dpi: int | None = None) -> list[str]:
    """The command line for one file: `pdfa` a level ("2b") or None for a plain PDF. One core per file: the
    server's workers already run conversions side by side."""
    command = ["ocrmypdf", "--plugin", str(PROGRESS_PLUGIN), "--jobs", "1", "--output-type",
               PDFA_TYPES[pdfa] if pdfa else "pdf", "--max-image-mpixels", str(MAX_IMAGE_MPIXELS), "-q"]
    if not ocr.enabled:  # Tesseract is given no time at all: the pages go through, PDF/A made, no text added
        command += ["--skip-text", "--tesseract-timeout", "0"]
    else:
        command += ["-l", "+".join(ocr.languages),
                    {"skip": "--skip-text", "force": "--force-ocr", "redo": "--redo-ocr"}[ocr.existing]]
        command += ["--deskew"] * ocr.deskew + ["--rotate-pages"] * ocr.rotate_pages
    if image_dpi:
        command += ["--image-dpi", str(image_dpi)]
    return [*command, "--", str(src), str(dst)]


async def run(src: Path, dst: Path, ocr: Ocr, *, cwd: Path, timeout: float, on_page: OnPage | None = None,
              pdfa: str | None = None, image_dpi: int | None = None) -> None:
    """Run OCRmyPDF on `src` (a PDF or an image) into `dst`; `on_page(percent)` hears of every page done.
    Raises ConversionFailed with OCRmyPDF's reason when it fails."""

    def on_line(line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        if on_page is not None and isinstance(message, dict) and message.get("total"):
            on_page(min(100.0, 100 * message["done"] / message["total"]))

    result = await sandbox.run(argv(src, dst, ocr, pdfa=pdfa, image_dpi=image_dpi), cwd=cwd,
                               timeout=timeout, limits=LIMITS, on_stdout_line=on_line)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = EXIT_REASONS.get(result.returncode, "OCRmyPDF could not process this file")
        raise ConversionFailed(f"OCR failed: {reason}.", details={"engine": lines[-1][:300] if lines else ""})
