"""The built-in plugin `jobs`: starts the conversion executor (and its warm workers) with the application and
drains it at shutdown. Block it (`plugins_block = ["jobs"]`) to run a server that only queues, with `anclora
worker` processes doing the conversions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import config, hookimpl
from ..config import Setting
from ..jobs import executor

if TYPE_CHECKING:
    from ..context import AppContext


@hookimpl
def anclora_settings():
    return [Setting("warm_workers", config.boolean, True,
                    "Fork Python workers (images, data, pdf) from a warm process per worker script instead of "
                    "starting each afresh: about 0.1 s less per conversion; children share the warm process's "
                    "memory layout. Also read as warm_workers / ANCLORA_WARM_WORKERS.")]


@hookimpl(trylast=True)  # after engine pools have opened
async def anclora_startup(ctx: "AppContext") -> None:
    await executor.start(ctx)


@hookimpl(tryfirst=True)  # before engine pools close: running jobs still need them while draining
async def anclora_shutdown(ctx: "AppContext") -> None:
    await executor.stop(ctx)
