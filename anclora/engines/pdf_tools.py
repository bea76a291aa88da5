"""qpdf and Ghostscript on PDFs, in the sandbox: open a protected PDF with its password, compress, protect with
passwords (AES-256) and linearize.

Passwords never appear on a command line (where `ps` would show them): they go to qpdf in an arguments file
(`@file`) written in the job's private folder and removed as soon as qpdf has read it. Both programs only ever
see PDFs that plugins/_pdf_worker.py has checked, except for the one decrypting step, which must come first.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from ..errors import ConversionFailed, PasswordIncorrect
from . import sandbox

LIMITS = sandbox.Limits(cpu_seconds=300, file_bytes=512 * 2**20, memory_bytes=2 * 2**30)
INSTALL = "apt-get install qpdf ghostscript"
# Compression levels as Ghostscript's distiller presets: each downsamples images above its resolution.
PDFSETTINGS = {"low": "/printer", "medium": "/ebook", "high": "/screen"}
PERMISSIONS = {"allow_printing": ("--print", "full", "none"), "allow_copying": ("--extract", "y", "n"),
               "allow_modifying": ("--modify-other", "y", "n"), "allow_annotating": ("--annotate", "y", "n"),
               "allow_filling_forms": ("--form", "y", "n"), "allow_assembling": ("--assemble", "y", "n")}


def _failure(program: str, result: sandbox.Result) -> ConversionFailed:
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return ConversionFailed(f"{program} could not process this PDF",
                            details={"engine": lines[-1][:300] if lines else ""})


async def qpdf(arguments: list[str], workdir: Path, timeout: float) -> sandbox.Result:
    """qpdf with `arguments` read from a private file; exit 3 (warnings, output written) counts as success."""
    argfile = workdir / "qpdf-arguments"
    fd = os.open(argfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(arguments) + "\n")
    try:
        result = await sandbox.run(["qpdf", f"@{argfile.name}"], cwd=workdir, timeout=timeout, limits=LIMITS)
    finally:
        argfile.unlink(missing_ok=True)
    if result.returncode not in (0, 3):
        if b"invalid password" in result.stderr:
            raise PasswordIncorrect()
        raise _failure("qpdf", result)
    return result


async def decrypt(src: Path, dst: Path, password: str, workdir: Path, timeout: float) -> None:
    """`src` opened with `password` (the user's or the owner's), written without protection."""
    await qpdf([f"--password={password}", "--decrypt", str(src), str(dst)], workdir, timeout)


def protection_arguments(protect: dict[str, Any]) -> list[str]:
    """qpdf's AES-256 encryption: the owner password defaults to the user's, as Gotenberg's does; the
    permissions are only written when one of them is withheld."""
    user = protect.get("user_password", "")
    owner = protect.get("owner_password") or user
    arguments = ["--encrypt", user, owner, "256"]  # qpdf 11.3's positional form (one line each in the file)
    if not all(protect.get(name, True) for name in PERMISSIONS):
        for name, (flag, allowed, withheld) in PERMISSIONS.items():
            arguments.append(f"{flag}={allowed if protect.get(name, True) else withheld}")
    return [*arguments, "--"]


async def finish(src: Path, dst: Path, protect: dict[str, Any] | None, linearize: bool, workdir: Path,
                 timeout: float) -> None:
    """`src` rewritten by qpdf: protected with passwords and/or linearized for fast web view."""
    arguments = ["--linearize"] if linearize else []
    if protect:
        arguments += protection_arguments(protect)
    await qpdf([*arguments, str(src), str(dst)], workdir, timeout)


@dataclasses.dataclass(frozen=True)
class Compression:
    level: str | None = None  # a key of PDFSETTINGS; None keeps every image's resolution
    image_quality: int | None = None  # JPEG quality 1-100 of re-encoded images; None keeps the preset's

    def arguments(self) -> list[str]:
        arguments = [f"-dPDFSETTINGS={PDFSETTINGS[self.level]}"] if self.level else [
            "-dDownsampleColorImages=false", "-dDownsampleGrayImages=false", "-dDownsampleMonoImages=false"]
        if self.image_quality is not None:
            arguments += ["-dAutoFilterColorImages=false", "-dAutoFilterGrayImages=false",
                          "-dColorImageFilter=/DCTEncode", "-dGrayImageFilter=/DCTEncode",
                          "-dPassThroughJPEGImages=false"]
        return arguments

    def distiller_params(self) -> list[str]:
        """PostScript setting the JPEG quality, which pdfwrite takes only as a QFactor (IJG's scaling: quality
        50 is 1.0, 75 is 0.5, 95 is 0.1)."""
        if self.image_quality is None:
            return []
        q = self.image_quality
        factor = max(0.02, (5000 / q if q < 50 else 200 - 2 * q) / 100)
        sampling = "/HSamples [1 1 1 1] /VSamples [1 1 1 1]" if q >= 90 else "/HSamples [2 1 1 2] /VSamples [2 1 1 2]"
        image_dict = f"<< /QFactor {factor:.3f} /Blend 1 {sampling} >>"
        return ["-c", f"<< /ColorImageDict {image_dict} /GrayImageDict {image_dict} >> setdistillerparams", "-f"]


async def compress(src: Path, dst: Path, compression: Compression, workdir: Path, timeout: float) -> None:
    """`src` written again by Ghostscript's pdfwrite with smaller images; the output is checked by the caller."""
    argv = ["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOINTERPOLATE", "-sDEVICE=pdfwrite",
            "-dCompatibilityLevel=1.7", *compression.arguments(), f"-sOutputFile={dst}",
            *compression.distiller_params(), str(src)]
    result = await sandbox.run(argv, cwd=workdir, timeout=timeout, limits=LIMITS)
    if result.returncode != 0 or not dst.is_file():
        raise _failure("Ghostscript", result)
