"""PDF/A: writing a PDF again as PDF/A-1b, 2b or 3b (OCRmyPDF driving Ghostscript, no OCR), and checking the
identification a PDF/A carries in its XMP metadata (`pdfaid:part`, `pdfaid:conformance`), read by poppler's
`pdfinfo -meta` in the sandbox."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from ..errors import ConversionFailed
from . import ocrmypdf, sandbox

LEVELS = ("1b", "2b", "3b")
# Level A (tagged: LibreOffice writes PDF/A-1 as 1a) and level U (Unicode text) include what level B requires
MEETS = {"b": ("b", "a", "u")}
PDFINFO_LIMITS = sandbox.Limits(cpu_seconds=60, file_bytes=64 * 2**20, memory_bytes=1024 * 2**20)
# XMP writes each property as an attribute (pdfaid:part="2") or as an element (<pdfaid:part>2</pdfaid:part>)
PROPERTY = r'pdfaid:{0}\s*=\s*["\']\s*([^"\'\s]*)|<pdfaid:{0}>\s*([^<\s]*)\s*<'


@functools.cache
def available() -> bool:
    return ocrmypdf.available()


async def make(src: Path, dst: Path, level: str, *, cwd: Path, timeout: float) -> None:
    """`src` written again as PDF/A of `level` into `dst`."""
    await ocrmypdf.run(src, dst, ocrmypdf.NO_OCR, cwd=cwd, timeout=timeout, pdfa=level)


def identification(xmp: str) -> tuple[str, str]:
    """(part, conformance) as the XMP names them ("2", "b"); empty strings for what it does not name."""
    found = []
    for name in ("part", "conformance"):
        match = re.search(PROPERTY.format(name), xmp)
        found.append(next((group for group in match.groups() if group), "") if match else "")
    return found[0], found[1].lower()


async def check(path: Path, level: str, *, cwd: Path, timeout: float) -> None:
    """Raise ConversionFailed unless the PDF's XMP identifies it as PDF/A of `level`."""
    result = await sandbox.run(["pdfinfo", "-meta", str(path)], cwd=cwd, timeout=min(timeout, 60),
                               limits=PDFINFO_LIMITS)
    part, conformance = identification(result.stdout.decode("utf-8", "replace"))
    if result.returncode != 0 or part != level[0] or conformance not in MEETS[level[1]]:
        said = f"PDF/A-{part}{conformance}" if part else "no PDF/A identification"
        raise ConversionFailed(f"The result is not PDF/A-{level}: its XMP metadata carries {said}.",
                               details={"pdfa": level, "part": part, "conformance": conformance})
