"""Conversion jobs: creating, claiming, running and finishing them; the database row is the only truth.

This package is also the built-in plugin `jobs`: it starts the conversion executor with the application and
drains it at shutdown. Block it (`plugins_block = ["jobs"]`) to run a server that only queues, with
`anclora worker` processes doing the conversions.
"""
from __future__ import annotations

from .. import hookimpl
from ..engines import zygote
from .executor import Executor
from .runner import work_root


async def _start(ctx) -> None:
    if ctx.settings.warm_workers:
        ctx.services[zygote.SERVICE] = zygote.ZygotePool(work_root(ctx) / ".warm")
    executor = Executor(ctx)
    await executor.start()
    ctx.services["executor"] = executor


@hookimpl(trylast=True)  # after engine pools have opened
def anclora_startup(ctx):
    return _start(ctx)


@hookimpl(tryfirst=True)  # before engine pools close: running jobs still need them while draining
def anclora_shutdown(ctx):
    return _stop(ctx)


async def _stop(ctx) -> None:
    executor = ctx.services.pop("executor", None)
    if executor is not None:
        await executor.stop(ctx.settings.shutdown_grace)
    warm = ctx.services.pop(zygote.SERVICE, None)
    if warm is not None:
        await warm.close()
