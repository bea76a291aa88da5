"""Every hook a plugin can implement. These docstrings are the hook reference (docs/plugins.md points here).

Anclora calls every hook through one of the functions of `anclora.plugins`, and each hook below says which:
- `notify`: every implementation is awaited on its own; one that raises is logged with its plugin's name and the
  others still run (the lifecycle events, shutdown, `anclora_me`).
- `authorize`: the implementations are asked in turn and the first that raises refuses; the ones after it are
  not asked (the permission hooks).
- `start`: in turn, and the first failure stops the start (`anclora_startup`).
- `collect` and `first`: synchronous hooks, every answer or the first one that is not None.

A hook called through `notify`, `authorize` or `start` may be `async def` or return an awaitable. Never write an
`async def` implementation of a `first` (`firstresult`) hook: a coroutine is never None, so it would always win.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Iterable

import pluggy

if TYPE_CHECKING:
    from .context import AppContext
    from .config import Setting
    from .conversion.converter import Converter
    from .identity import Identity

hookspec = pluggy.HookspecMarker("anclora")


@hookspec
def anclora_register_converters() -> Iterable["Converter"] | None:
    """Return the converters this plugin provides (instances of `anclora.Converter`). It takes no arguments.

    Called once while the plugin manager is built. Every implementation is called; the results are merged.
    Two converters with the same name are a startup error.
    Called by `anclora.conversion.registry`, one implementation at a time (to know which plugin registered
    each converter).
    """


@hookspec
def anclora_settings() -> Iterable["Setting"] | None:
    """Declare this plugin's own settings: `anclora.config.Setting(name, type, default, help)` each.

    Takes no arguments. Operators set them in TOML under `[plugins.<plugin name>]` or in the environment as
    `ANCLORA_PLUGINS__<PLUGIN NAME>__<SETTING NAME>`; a bad value or an unknown name stops the start naming
    `plugins.<plugin name>.<setting>`. The plugin reads them with `ctx.settings.plugin("<plugin name>")`. Called
    once when the application is built, one implementation at a time (by `anclora.plugins.declared_settings`),
    and by `anclora config-sample`.
    """


@hookspec
def anclora_startup(ctx: "AppContext") -> Awaitable[None] | None:
    """The application is starting: open pools, connections, background tasks.

    `ctx` is the application context: register engine pools in `ctx.engine_pools` and keep other state in
    `ctx.state(<plugin name>)`. Called once after the database and
    storage are ready and before the server accepts requests. May return an awaitable; the host awaits it. Every
    implementation is called.
    Called through `start`: a failure stops the start.
    """


@hookspec
def anclora_shutdown(ctx: "AppContext") -> Awaitable[None] | None:
    """The application is stopping: close what `anclora_startup` opened.

    `ctx` is the application context. Called once, after the server stopped accepting requests. May return an
    awaitable; every implementation is called.
    Called through `notify`: a failure is logged and the other plugins still stop.
    """


@hookspec(firstresult=True)
def anclora_price_conversion(
    ctx: "AppContext", identity: "Identity", converter: "Converter", input_size: int, options: dict[str, Any],
    cached: bool,
) -> int | None:
    """Return the cost in credits of one conversion, or None to leave the price to another plugin.

    `ctx` is the application context, `identity` the caller, `converter` the Converter (for a chain, each step is
    priced), `input_size` the input's size in bytes and `options` the validated options. `cached` is True when the
    result cache answers the conversion (no engine runs). Called when a conversion is quoted or created, and for
    `GET /api/formats` (with `input_size` 0). The first non-None result wins (`firstresult`); without any, the
    converter's own `cost` is the price, and a cached conversion is free. Must not do I/O.
    Called through `first`.
    """


@hookspec
def anclora_authorize_conversion(
    ctx: "AppContext", identity: "Identity", conversion: dict[str, Any]
) -> Awaitable[None] | None:
    """Allow, refuse or charge a conversion before it is queued.

    `ctx` is the application context and `identity` the caller. `conversion` holds `id`, `converter`, `from`,
    `to`, `input_size`, `cost`, `dry_run` and `webhook_url` (None when the caller asked for none). Called once
    per new conversion (and per quote), after pricing and before the job is queued. Raise an
    `anclora.errors.AncloraError` (402 `PaymentRequired`, 429 `QuotaExceeded`, 403
    `Forbidden`) to refuse; return None or an awaitable to allow. Every implementation is called, in plugin order;
    the first raise stops the conversion. An implementation that charges must make the charge idempotent on
    `conversion["id"]`.
    Called through `authorize`: the first refusal wins.
    """


@hookspec
def anclora_conversion_refused(
    ctx: "AppContext", identity: "Identity", conversion: dict[str, Any]
) -> Awaitable[None] | None:
    """A conversion was refused by a plugin's `anclora_authorize_conversion`: give back what was held for it.

    `ctx` is the application context, `identity` the caller and `conversion` the same dict the authorizing
    plugins saw (`id`, `cost`, `dry_run`, ...). Called once per refusal, after the refusing plugin raised, for
    every plugin (those asked before the refusal may have reserved a job slot or taken a charge). Nothing was
    stored. May return an awaitable.
    Called through `notify`.
    """


@hookspec
def anclora_authorize_upload(ctx: "AppContext", identity: "Identity", declared_size: int | None,
                             starting: bool) -> int | None:
    """Return the largest upload in bytes this caller may send now, or None for no opinion.

    `ctx` is the application context, `identity` the caller and `declared_size` the request's Content-Length
    (None for a chunked body). `starting` is True when an upload is starting (count it against rate limits) and
    False when the server only tells the caller its limit (tus `OPTIONS`, `Tus-Max-Size`). Called in `prepare()`
    before any of the body is read, by plain uploads and tus creations alike. The smallest answer (and the server's
    own MAX_CONTENT_LENGTH) wins. Raise an AncloraError (e.g. `RateLimited`) to refuse the upload outright; the
    plugins after a refusing one are not asked. Must not do blocking I/O; may return an awaitable of the answer
    (the built-in `accounts` counts uploads per minute in Redis that way).
    Called through `ask`.
    """


@hookspec(firstresult=True)
def anclora_file_retention(ctx: "AppContext", identity: "Identity") -> int | None:
    """Return how many seconds a new file of this caller is kept, or None to leave it to another plugin.

    `ctx` is the application context and `identity` the owner of the file. Called when an upload or a conversion
    result is stored. The first non-None result wins (`firstresult`); without any, the `anonymous_retention` or
    `user_retention` setting applies. Must not do I/O.
    Called through `first`.
    """


@hookspec(firstresult=True)
def anclora_queue_weight(ctx: "AppContext", identity: "Identity") -> float | None:
    """Return the caller's weight in the fair share of the workers, or None to leave it to another plugin.

    `ctx` is the application context and `identity` the owner of a new conversion. Called when a conversion joins
    the queue; the weight decides its turn. When several owners have conversions queued, each gets turns in
    proportion to its weight (2 gets twice the turns of 1). The first non-None result wins (`firstresult`);
    without any, every owner weighs 1. Must not do I/O.
    Called through `first`.
    """


@hookspec
def anclora_conversion_queued(ctx: "AppContext", conversion: dict[str, Any],
                              owner: "Identity") -> Awaitable[None] | None:
    """A conversion was accepted and queued.

    `ctx` is the application context; `conversion` is the conversion's public JSON (as `GET /api/conversions/{id}`).
    `owner` is whose conversion it is (an Identity: `user_id`, or the anonymous session). Called once per
    conversion, after its row is committed; a one-shot conversion that starts at once without queueing is announced
    here too (`status` "running"), before `anclora_conversion_started`. May return an awaitable.
    Called through `notify`.
    """


@hookspec
def anclora_conversion_started(ctx: "AppContext", conversion: dict[str, Any],
                               owner: "Identity") -> Awaitable[None] | None:
    """A conversion attempt started running on a worker.

    `ctx` is the application context; `conversion` is the public JSON with `status` "running". `owner` is whose
    conversion it is (an Identity: `user_id`, or the anonymous session). Called once per attempt (a conversion re-
    queued after a lost worker starts again). May return an awaitable.
    Called through `notify`.
    """


@hookspec
def anclora_conversion_progress(ctx: "AppContext", conversion: dict[str, Any],
                                owner: "Identity") -> Awaitable[None] | None:
    """A running conversion reported progress.

    `ctx` is the application context; `conversion` is the public JSON with `progress` (0-100). `owner` is whose
    conversion it is (an Identity: `user_id`, or the anonymous session). Called at most a few times a second per
    conversion; keep implementations cheap. May return an awaitable.
    Called through `notify`.
    """


@hookspec
def anclora_conversion_finished(ctx: "AppContext", conversion: dict[str, Any],
                                owner: "Identity") -> Awaitable[None] | None:
    """A conversion succeeded.

    `ctx` is the application context; `conversion` is the public JSON with `result_file_id` set. `owner` is whose
    conversion it is (an Identity: `user_id`, or the anonymous session). Called exactly once per conversion, after
    the row says succeeded. May return an awaitable.
    Called through `notify`: a listener that raises never keeps the others from hearing.
    """


@hookspec
def anclora_conversion_failed(ctx: "AppContext", conversion: dict[str, Any],
                              owner: "Identity") -> Awaitable[None] | None:
    """A conversion failed for good.

    `ctx` is the application context; `conversion` is the public JSON, whose `error` says why. `owner` is whose
    conversion it is (an Identity: `user_id`, or the anonymous session). Called exactly once per conversion. A
    plugin that charged for it should give the credits back here. May return an awaitable.
    Called through `notify`.
    """


@hookspec
def anclora_conversion_canceled(ctx: "AppContext", conversion: dict[str, Any],
                                owner: "Identity") -> Awaitable[None] | None:
    """A conversion was canceled by its owner.

    `ctx` is the application context; `conversion` is the public JSON with `status` "canceled". `owner` is whose
    conversion it is (an Identity: `user_id`, or the anonymous session). Called exactly once per conversion. A
    plugin that charged for it should give the credits back here. May return an awaitable.
    Called through `notify`.
    """


@hookspec
def anclora_handlers(ctx: "AppContext") -> list[tuple] | None:
    """Return extra Tornado routes `[(pattern, HandlerClass), ...]` (or with a kwargs dict third) this plugin serves.

    `ctx` is the application context (handlers also receive it in `initialize`). Called once when the application
    is built; every implementation is called. Handlers should subclass `anclora.handlers.base.APIHandler`.
    Called through `collect`.
    """


@hookspec
def anclora_me(ctx: "AppContext", identity: "Identity") -> Awaitable[dict[str, Any]] | dict[str, Any] | None:
    """Return fields to merge into `GET /api/me` (e.g. `credits`, `limits`).

    `ctx` is the application context; `identity` is the caller. Called for every `GET /api/me`; every
    implementation is called and the dicts (or awaitables of dicts) are merged in plugin order.
    Called through `notify`.
    """
