"""A third-party plugin whose every lifecycle listener raises, some at once and some when awaited, and whose
shutdown raises too: the plugins that run after it must not notice."""

from anclora import hookimpl

CALLS: list[str] = []  # the hooks called, in order


class ListenerBroke(RuntimeError):
    pass


def _fail(hook: str):
    CALLS.append(hook)
    raise ListenerBroke(f"{hook} is broken on purpose")


@hookimpl
def anclora_conversion_queued(ctx, conversion, owner):
    _fail("queued")


@hookimpl
async def anclora_conversion_started(ctx, conversion, owner):
    _fail("started")


@hookimpl
def anclora_conversion_finished(ctx, conversion, owner):
    _fail("finished")


@hookimpl
async def anclora_conversion_failed(ctx, conversion, owner):
    _fail("failed")


@hookimpl
def anclora_conversion_canceled(ctx, conversion, owner):
    _fail("canceled")


@hookimpl
async def anclora_me(ctx, identity):
    _fail("me")


@hookimpl
def anclora_shutdown(ctx):
    _fail("shutdown")


@hookimpl
def anclora_conversion_refused(ctx, identity, conversion):
    _fail("refused")
