"""make_app(ctx): the Tornado application, its routes gathered from every handlers module."""

from __future__ import annotations

import importlib
import logging
import pkgutil

import tornado.web

from . import handlers, plugins
from .context import AppContext
from .handlers.base import NotFoundHandler

access_log = logging.getLogger("anclora.access")


def collect_routes(ctx: AppContext) -> list[tuple]:
    """(pattern, handler) pairs from `default_handlers` of each anclora.handlers module, then plugins'."""
    routes: list[tuple] = []
    for info in sorted(pkgutil.iter_modules(handlers.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{handlers.__name__}.{info.name}")
        routes.extend(getattr(module, "default_handlers", []))
    for extra in plugins.collect(ctx.pm, "anclora_handlers", ctx=ctx):
        routes.extend(extra or [])
    return routes


def _log_request(handler: tornado.web.RequestHandler) -> None:
    status = handler.get_status()
    if status >= 500:  # (503 and 507 answer a backing service or a full disk: worth a look, not a bug)
        level = logging.WARNING if status in (503, 507) else logging.ERROR
    elif status < 400 and getattr(handler, "quiet_access_log", False):
        level = logging.DEBUG
    else:
        level = logging.INFO
    access_log.log(level, "%s %s %d %.1fms", handler.request.method, handler.request.path, status,
                   1000.0 * handler.request.request_time(),
                   extra={"request_id": getattr(handler.request, "anclora_request_id", "-")})


def make_app(ctx: AppContext) -> tornado.web.Application:
    routes = [(pattern, handler, {"ctx": ctx, **(kwargs[0] if kwargs else {})})
              for pattern, handler, *kwargs in collect_routes(ctx)]
    return tornado.web.Application(
        routes,
        default_handler_class=NotFoundHandler,
        default_handler_args={"ctx": ctx},
        log_function=_log_request,
        debug=False,
        serve_traceback=ctx.settings.debug,
        xsrf_cookies=False,
        compress_response=False,
        anclora_ctx=ctx,
        anclora_routes=routes,
    )
