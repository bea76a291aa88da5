"""The web page's static files (anclora/web/static/), each served under a name carrying a hash of its bytes, and
the page's HTML with those names filled in."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from importlib import resources

PAGE = "index.html"
# The page's own files only: no inline script or style, nothing from another origin. Images and PDFs are
# previewed from blob: URLs made of bytes the page fetched from this server.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
                           "frame-src blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml", ".html": "text/html; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    name: str  # as served: app.3f2a9c1d04.js
    content_type: str
    body: bytes


def _hashed(name: str, body: bytes) -> str:
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{hashlib.sha256(body).hexdigest()[:12]}{dot}{suffix}"


def _content_type(name: str) -> str:
    suffix = "." + name.rpartition(".")[2]
    return TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


@cache
def assets() -> dict[str, Asset]:
    """Every static file but the page itself, by its hashed name (read once per process: they ship with it)."""
    folder = resources.files(__package__) / "static"
    found = {}
    for entry in folder.iterdir():
        if entry.is_file() and entry.name != PAGE:
            body = entry.read_bytes()
            found[_hashed(entry.name, body)] = Asset(_hashed(entry.name, body), _content_type(entry.name), body)
    return found


@cache
def page() -> bytes:
    """The page's HTML, each `{{name}}` replaced by the URL of that file's hashed name."""
    html = (resources.files(__package__) / "static" / PAGE).read_text("utf-8")
    for asset in assets().values():
        plain = asset.name.split(".")[0] + "." + asset.name.rpartition(".")[2]
        html = html.replace("{{" + plain + "}}", f"/static/{asset.name}")
    return html.encode("utf-8")
