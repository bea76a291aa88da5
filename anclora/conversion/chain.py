"""Running a route step by step in one work folder: generated names, a timeout per step, every output checked."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable

from . import pdfa
from .converter import ConversionContext
from .planner import Route
from ..engines.sandbox import verify_output
from ..errors import ConversionTimeout

Report = Callable[[int], Awaitable[None] | None]


def step_timeout(converter, default: float) -> float:
    """The converter's own `limits["timeout"]` when it sets one, else the server's job timeout."""
    return float(converter.limits.get("timeout") or default)


async def run_route(route: Route, src: Path, workdir: Path, options: dict[str, Any], *, default_timeout: float,
                    report: Report | None = None,
                    pools: Callable[[str], dict[str, Any]] | None = None) -> Path:
    """Convert `src` along `route` inside `workdir`; the final output's path. Options go to the last step (and
    `pdfa` to the host's PDF/A step after it). `pools(converter_name)` gives each step the engine pools
    registered for its converter."""
    current = src
    count = len(route.steps)
    for index, step in enumerate(route.steps):
        dst = workdir / f"step{index + 1}.{step.target}"
        timeout = step_timeout(step.converter, default_timeout)
        context = ConversionContext(workdir, step.source, step.target, timeout=timeout,
                                    report=_scaled(report, index, count),
                                    resources=pools(step.converter.name) if pools else {})
        last = index == count - 1
        step_options = pdfa.converter_options(step.converter, options) if last else {}
        try:  # (asyncio.timeout, not wait_for: the step runs in this task instead of a new one)
            async with asyncio.timeout(timeout):
                await step.converter.convert(current, dst, step_options, context)
            await asyncio.get_running_loop().run_in_executor(None, verify_output, dst, step.target)
            if last:
                async with asyncio.timeout(timeout):
                    dst = await pdfa.finish(step.converter, dst, options, context)
        except TimeoutError:
            raise ConversionTimeout(f"{step.converter.name} did not finish within {timeout:g} s") from None
        if index < count - 1:  # the last step's 100% is the job's end, recorded with its outcome
            await context.progress(100)
        current = dst
    return current


def _scaled(report: Report | None, index: int, count: int) -> Report | None:
    """Step progress 0-100 as overall progress: step 2 of 2 at 50% is 75%."""
    if report is None:
        return None

    def scaled(percent: int) -> Awaitable[None] | None:
        return report(int((index * 100 + percent) / count))
    return scaled
