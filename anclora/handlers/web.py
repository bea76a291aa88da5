"""The web page: its HTML at `/` (and at the paths the account e-mails link to) and its files under /static/.

Served through the web plugin's `anclora_handlers` hook (no `default_handlers`), so blocking the plugin
(`plugins_block = ["web"]`) leaves an API-only server.
"""

from __future__ import annotations

from .. import web
from ..errors import NotFound
from ..openapi import Body, operation
from .base import APIHandler

IMMUTABLE = "public, max-age=31536000, immutable"


class PageHandler(APIHandler):
    """The page; never cached, so a new release's hashed file names are picked up at once."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Security-Policy", web.CONTENT_SECURITY_POLICY)
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Referrer-Policy", "same-origin")

    @operation({200: Body("text/html", description="The page.")})
    async def get(self) -> None:
        """The web page for people (HTML; the same page answers the links in account e-mails)."""
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(web.page())

    head = get


class StaticHandler(APIHandler):
    """A file of the page by its hashed name: the same name always means the same bytes, so it is cached for good."""

    access = "public"

    async def prepare(self) -> None:
        pass  # the same bytes for everyone: no identity, no session cookie

    @operation({200: Body("*/*", description="A script, style sheet or image."), 404: "No such file."})
    async def get(self, name: str) -> None:
        """A script, style sheet or image of the web page, by its content-hash name."""
        asset = web.assets().get(name)
        if asset is None:
            raise NotFound(f"No such file: /static/{name}")
        self.set_header("Content-Type", asset.content_type)
        self.set_header("Cache-Control", IMMUTABLE)
        self.set_header("Content-Security-Policy", web.CONTENT_SECURITY_POLICY)
        self.finish(asset.body)

    head = get


web_handlers = [
    (r"/", PageHandler),
    (r"/reset-password", PageHandler),
    (r"/verify", PageHandler),
    (r"/static/([A-Za-z0-9_.-]+)", StaticHandler),
]
