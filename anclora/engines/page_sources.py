"""What a Chromium page may load: the files of its own job folder, or pages of the operator's allowlisted hosts.

Each is a router for `chromium_render`: it answers every request the page makes. The browser itself has no
network; for URL conversions the server fetches on its behalf, and only from hosts on `chromium_url_allowlist`
whose every address is public. The address check is done by the resolver the HTTP client connects with, so the
address checked is the address used (no second lookup for a rebinding DNS server to answer differently), and a
refused host is never connected to. Redirects are handed back to the browser, whose next request is checked anew.
"""

from __future__ import annotations

import ipaddress
import mimetypes
import re
import secrets
import socket
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from tornado import netutil
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from .. import config
from ..errors import ConversionFailed
from .chromium_render import Answer, Router

MAX_FILE_BYTES = 50 * 2**20  # one file of a document's folder handed to the browser
MAX_RESPONSE_BYTES = 20 * 2**20  # one response fetched from an allowlisted host
FETCH_TIMEOUT = 30.0
DEFAULT_PORTS = {"http": 80, "https": 443}
KEPT_HEADERS = ("content-type", "location", "content-language", "content-disposition", "last-modified")
# IPv6 forms that carry an IPv4 address: the embedded one is what would be reached.
EMBEDDING = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("2002::/16"))


HOST_PATTERN = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$")


def host_list(value: Any) -> list[str]:
    """The allowlist setting's type: host names (`example.com`, `*.example.com`), each with an optional `:port`,
    lower-cased; anything else (a URL, a path, a bare `*`) stops the start."""
    hosts = [host.lower() for host in config.str_list(value)]
    for host in hosts:
        if not HOST_PATTERN.match(host):
            raise ValueError(f"not a host name or *.domain (with an optional :port): {host!r}")
    return hosts


def document_origin() -> str:
    """An origin no job had before (`http://<random>.invalid`: the reserved .invalid names never resolve), so
    nothing a page stores under its origin can be found by another job's page."""
    return f"http://{secrets.token_hex(8)}.invalid"


def folder_router(folder: Path, origin: str) -> Router:
    """Serve the files under `folder` at `origin`; refuse every other request."""
    root = folder.resolve()

    async def answer(request: dict[str, Any]) -> Answer:
        url = urlsplit(request["url"])
        if f"{url.scheme}://{url.netloc}" != origin:
            return Answer.refuse("not part of the document")
        if request.get("method", "GET") not in ("GET", "HEAD"):
            return Answer.refuse(f"method {request.get('method')}")
        path = (root / unquote(url.path).lstrip("/")).resolve()
        if not path.is_relative_to(root) or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return Answer(404, {"Content-Type": "text/plain"})
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return Answer(200, {"Content-Type": kind}, path.read_bytes())

    return answer


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is on the public Internet: not loopback, private, link-local (cloud metadata lives at
    169.254.169.254), shared (100.64/10), reserved, multicast or unspecified, in IPv4 or any IPv6 disguise."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address.teredo is not None:
            return is_public(address.teredo[1])
        if address in EMBEDDING[0]:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address in EMBEDDING[1] and address.sixtofour is not None:
            return is_public(address.sixtofour)
    return address.is_global and not address.is_multicast


class AddressRefused(Exception):
    """A host resolved to an address the server must not connect to."""


class CheckedResolver(netutil.Resolver):
    """Resolves like the system does, then refuses the host if any of its addresses fails `allowed`."""

    def initialize(self, allowed: Callable[[Any], bool] = is_public) -> None:
        self.allowed = allowed
        self.inner = netutil.DefaultExecutorResolver()

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC):
        addresses = await self.inner.resolve(host, port, family)
        refused = [info[0] for _, info in addresses if not self.allowed(ipaddress.ip_address(info[0]))]
        if refused or not addresses:
            raise AddressRefused(f"{host} resolves to an address that is not public ({', '.join(refused[:3])})")
        return addresses


class UrlGuard:
    """The operator's allowlist of hosts, and the fetching of their pages for the browser."""

    def __init__(self, allowlist: list[str], *, allowed_address: Callable[[Any], bool] = is_public):
        self.patterns = [_split_pattern(entry) for entry in allowlist]
        self.allowed_address = allowed_address
        self._client: SimpleAsyncHTTPClient | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.patterns)

    def permits(self, url: str) -> bool:
        """Whether `url` is http(s) on an allowlisted host and port (its addresses are checked when fetched)."""
        try:
            parts = urlsplit(url)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            return False
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
            return False
        host = parts.hostname.rstrip(".").lower()
        return any(_matches(host, port, pattern) for pattern in self.patterns)

    def check(self, url: str) -> None:
        """The first page's URL, before any browser is asked: ConversionFailed when it is not allowed."""
        if not self.enabled:
            raise ConversionFailed("Converting web pages is not enabled on this server.",
                                   details={"reason": "chromium_url_allowlist is empty"})
        if not self.permits(url):
            raise ConversionFailed("This address is not on the server's list of allowed hosts.",
                                   details={"url": url[:300]})

    def router(self) -> Router:
        return self.answer

    async def answer(self, request: dict[str, Any]) -> Answer:
        url = request["url"]
        if request.get("method", "GET") not in ("GET", "HEAD"):
            return Answer.refuse(f"method {request.get('method')}")
        if not self.permits(url):
            return Answer.refuse("host not on the allowlist")
        try:
            response = await self.client().fetch(HTTPRequest(
                url, method=request.get("method", "GET"), follow_redirects=False, request_timeout=FETCH_TIMEOUT,
                headers={"User-Agent": request.get("headers", {}).get("User-Agent", "Anclora"),
                         "Accept": request.get("headers", {}).get("Accept", "*/*")}), raise_error=False)
        except AddressRefused as error:
            return Answer.refuse(str(error))
        except (OSError, HTTPClientError) as error:
            return Answer.refuse(f"fetch failed: {error}")
        if response.code >= 600 or response.code < 100:  # tornado's 599: no HTTP answer (timeout, reset, TLS)
            return Answer.refuse(f"fetch failed: {response.error}")
        headers = {name: value for name, value in response.headers.get_all() if name.lower() in KEPT_HEADERS}
        return Answer(response.code, headers, response.body or b"")

    def client(self) -> SimpleAsyncHTTPClient:
        if self._client is None:
            self._client = SimpleAsyncHTTPClient(force_instance=True, max_body_size=MAX_RESPONSE_BYTES,
                                                 resolver=CheckedResolver(allowed=self.allowed_address))
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _split_pattern(entry: str) -> tuple[str, int | None]:
    host, _, port = entry.lower().partition(":")
    return host, int(port) if port else None


def _matches(host: str, port: int | None, pattern: tuple[str, int | None]) -> bool:
    name, wanted_port = pattern
    if wanted_port is None and port not in DEFAULT_PORTS.values():
        return False
    if wanted_port is not None and port != wanted_port:
        return False
    if name.startswith("*."):
        return host.endswith(name[1:])
    return host == name
