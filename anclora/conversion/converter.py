"""The converter contract, as a plugin author sees it."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Any, Awaitable, Callable, ClassVar, Iterable

from ..errors import ConversionFailed


@dataclasses.dataclass(frozen=True)
class Availability:
    available: bool
    reason: str | None = None
    install: str | None = None  # how an operator gets the missing engine

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"available": self.available}
        if not self.available:
            data.update(reason=self.reason, install=self.install)
        return data


AVAILABLE = Availability(True)


class ConversionContext:
    """What a running conversion may use: its private work folder, progress reporting, cancellation state."""

    def __init__(
        self,
        workdir: Path,
        source_format: str,
        target_format: str,
        *,
        timeout: float = 300.0,
        report: Callable[[int], Awaitable[None] | None] | None = None,
        resources: dict[str, Any] | None = None,
    ):
        self.workdir = workdir
        self.source_format = source_format
        self.target_format = target_format
        self.timeout = timeout
        self._report = report
        self.resources = resources or {}  # shared engine pools, by name
        self.last_progress = 0

    async def progress(self, percent: float) -> None:
        """Report progress 0-100; values never go backwards."""
        value = max(0, min(100, int(percent)))
        if value <= self.last_progress:
            return
        self.last_progress = value
        if self._report is not None:
            result = self._report(value)
            if result is not None:
                await result


def program_identity(name: str) -> str:
    """A program on PATH named by the size and modification time of the file it resolves to (an upgrade
    replaces it): an engine's version without running it."""
    found = shutil.which(name)
    if found is None:
        return f"{name}:missing"
    stat = os.stat(os.path.realpath(found))
    return f"{name}:{stat.st_size}:{stat.st_mtime_ns}"


class Converter:
    """Subclass this, set the class attributes, implement `convert`.

    name       unique, lower_snake_case; shown in /api/formats and /api/plugins
    sources    formats accepted (lower-case extensions: "docx", "png")
    targets    formats produced
    options    JSON Schema (an object schema) of the options; validated before the job is queued
    cost       credits for one conversion unless a pricing plugin says otherwise
    limits     e.g. {"max_input_bytes": ..., "timeout": seconds}
    engine     the engine's name for /api/health (e.g. "libreoffice"); "" for pure-Python converters
    executables  programs that must be on PATH for the converter to be available
    install    what to tell an operator when an executable is missing
    final_targets  targets no further converter should start from when chains are planned (a PDF made of
               pixels has no text for pdf -> txt to find)
    on_request  True for a converter the planner never picks by itself: it runs only when a caller names it
               (a second way to make the same pair of formats, such as splitting a PDF into a zip of PDFs)
    version    change it whenever the same input and options would give a different output: results made by
               another version are not reused from the result cache (nor are those of another plugin release)
    """

    name: ClassVar[str] = ""
    sources: ClassVar[tuple[str, ...]] = ()
    targets: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}, "additionalProperties": False}
    cost: ClassVar[int] = 1
    limits: ClassVar[dict[str, Any]] = {}
    engine: ClassVar[str] = ""
    executables: ClassVar[tuple[str, ...]] = ()
    install: ClassVar[str] = ""
    final_targets: ClassVar[tuple[str, ...]] = ()
    on_request: ClassVar[bool] = False
    version: ClassVar[str] = ""

    def pairs(self) -> Iterable[tuple[str, str]]:
        """Every (source, target) this converter handles; override to exclude some."""
        for source in self.sources:
            for target in self.targets:
                if source != target:
                    yield source, target

    def availability(self) -> Availability:
        """Whether the engine is usable here. Must not raise; a missing engine is a reason, not a crash."""
        missing = [name for name in self.executables if shutil.which(name) is None]
        if missing:
            return Availability(False, f"{', '.join(missing)} not found on PATH", self.install or None)
        return AVAILABLE

    def engine_version(self) -> str:
        """The engine's version, part of the result cache's key, so that an upgraded engine converts again.
        Called for every conversion: compute it once. This default names each of `executables` by the size and
        modification time of the program it resolves to (an upgrade replaces it); override it to add what that
        misses (a Python library's version)."""
        known = self.__dict__.get("_engine_version")
        if known is None:
            known = self.__dict__["_engine_version"] = ",".join(map(program_identity, self.executables))
        return known

    async def convert(self, src: Path, dst: Path, options: dict[str, Any], ctx: ConversionContext) -> None:
        """Read `src`, write `dst`. Raise `ConversionFailed` (or another AncloraError) for bad input."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


__all__ = ["AVAILABLE", "Availability", "ConversionContext", "ConversionFailed", "Converter", "program_identity"]
