"""URL to PDF: only hosts on the operator's allowlist, never an address inside (by DNS or by redirect), nothing
connected to before the check. Every server here listens on 127.0.0.0/8: the allowlisted site on 127.0.0.2 (the
guard of these tests lets exactly that address through), a canary on 127.0.0.1 that must never see a connection."""

from __future__ import annotations

import http.server
import ipaddress
import threading
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image

from anclora import config
from anclora.plugins import declared_settings, make_plugin_manager
from anclora.engines.chromium_pool import ChromiumPool
from anclora.engines.page_sources import AddressRefused, CheckedResolver, UrlGuard, is_public
from anclora.errors import ConfigError, ConversionFailed
from chromium_samples import WORD, Canary, pdf_text
from media_samples import bundled_converters

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.backend_independent]  # no database, no Redis

URL = bundled_converters()["chromium_url"]
URL_SHOT = bundled_converters()["chromium_url_screenshot"]
SITE_ADDRESS = ipaddress.ip_address("127.0.0.2")


class Site(http.server.BaseHTTPRequestHandler):
    canary_port = 0
    seen: list[str] = []

    def do_GET(self):
        self.seen.append(self.path)
        inside = f"http://127.0.0.1:{self.canary_port}"
        pages = {
            "/page": ("text/html", f'<!doctype html><html><head><link rel="stylesheet" href="/style.css"></head>'
                                   f'<body><h1 class="w">{WORD} on the web</h1><img src="{inside}/img.png">'
                                   f'</body></html>'),
            "/style.css": ("text/css", ".w { text-transform: uppercase; }"),
        }
        redirects = {"/redirect-inside": f"{inside}/", "/redirect-ok": "/page",
                     "/redirect-localhost": f"http://localhost:{self.canary_port}/"}
        if self.path in redirects:
            self.send_response(302)
            self.send_header("Location", redirects[self.path])
            self.end_headers()
            return
        kind, body = pages.get(self.path, ("text/plain", "missing"))
        self.send_response(200 if self.path in pages else 404)
        self.send_header("Content-Type", kind)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def canary():
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def site(canary):
    Site.canary_port = canary.port
    server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.2:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium(site, canary):
    guard = UrlGuard([site, f"localhost:{canary.port}"],
                     allowed_address=lambda address: address == SITE_ADDRESS or is_public(address))
    async with ChromiumPool(size=1, url_guard=guard) as pool:
        await pool.start()
        yield {"chromium_pool": pool}
    guard.close()


@pytest.fixture
def url_file(tmp_path):
    def write(text: str) -> Path:
        path = tmp_path / "page.url"
        path.write_text(text, encoding="utf-8")
        return path
    return write


async def test_an_allowlisted_page_converts_with_its_own_assets(chromium, site, canary, url_file, convert_file):
    Site.seen.clear()
    pdf = await convert_file(URL, url_file(f"http://{site}/page\n"), "pdf", resources=chromium)
    assert f"{WORD.upper()} ON THE WEB" in pdf_text(pdf)  # the stylesheet was fetched and applied
    assert Site.seen[:2] == ["/page", "/style.css"]
    assert canary.hits == 0  # the image pointing inside was refused


async def test_an_allowlisted_page_as_a_screenshot(chromium, site, canary, url_file, convert_file):
    png = await convert_file(URL_SHOT, url_file(f"http://{site}/page"), "png", {"width": 500, "height": 300},
                             resources=chromium)
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (500, 300)
        colours = image.convert("RGB").getcolors(maxcolors=100_000)
    assert len(colours) > 2  # the heading's text is drawn on the white page
    assert canary.hits == 0


async def test_a_windows_shortcut_and_a_redirect_within_the_allowlist(chromium, site, url_file, convert_file):
    pdf = await convert_file(URL, url_file(f"[InternetShortcut]\r\nURL=http://{site}/redirect-ok\r\n"), "pdf",
                             resources=chromium)
    assert f"{WORD.upper()} ON THE WEB" in pdf_text(pdf)


@pytest.mark.parametrize("path", ["/redirect-inside", "/redirect-localhost"])
async def test_a_redirect_inside_is_refused_before_any_connection(path, chromium, site, canary, url_file,
                                                                  convert_file):
    Site.seen.clear()
    with pytest.raises(ConversionFailed):
        await convert_file(URL, url_file(f"http://{site}{path}"), "pdf", resources=chromium)
    assert Site.seen == [path]
    assert canary.hits == 0


async def test_an_allowlisted_name_that_resolves_inside_is_refused(chromium, canary, url_file, convert_file):
    with pytest.raises(ConversionFailed):
        await convert_file(URL, url_file(f"http://localhost:{canary.port}/"), "pdf", resources=chromium)
    assert canary.hits == 0


@pytest.mark.parametrize("address", ["http://127.0.0.2:1/page", "http://example.com/", "ftp://example.com/",
                                     "http://user@localhost/", "file:///etc/passwd"])
async def test_addresses_off_the_allowlist_are_refused_before_the_browser(address, chromium, url_file,
                                                                          convert_file):
    renders = chromium["chromium_pool"].browsers[1].renders
    with pytest.raises(ConversionFailed):
        await convert_file(URL, url_file(address), "pdf", resources=chromium)
    assert chromium["chromium_pool"].browsers[1].renders == renders


async def test_url_conversion_is_off_without_an_allowlist(site, url_file, convert_file):
    with pytest.raises(ConversionFailed, match="not enabled"):
        await convert_file(URL, url_file(f"http://{site}/page"), "pdf",
                           resources={"chromium_pool": ChromiumPool(size=1, url_guard=UrlGuard([]))})
    with pytest.raises(ConversionFailed, match="not enabled"):
        await convert_file(URL, url_file(f"http://{site}/page"), "pdf")


@pytest.mark.parametrize("address,public", [
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("::1", False), ("::", False), ("fd00::1", False), ("fe80::1", False), ("::ffff:127.0.0.1", False),
    ("::ffff:169.254.169.254", False), ("64:ff9b::a9fe:a9fe", False), ("2002:7f00:1::", False),
    ("93.184.216.34", True), ("2606:4700::1111", True), ("::ffff:93.184.216.34", True),
])
async def test_which_addresses_count_as_public(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize("host", ["localhost", "169.254.169.254", "127.0.0.1", "::1", "10.0.0.1"])
async def test_the_resolver_refuses_inside_addresses_without_connecting(host):
    with pytest.raises(AddressRefused):
        await CheckedResolver().resolve(host, 80)


def chromium_settings(**values) -> dict:
    """The chromium plugin's settings as the server reads them (flat names, as an operator may write them)."""
    settings = config.load(environ={}, overrides={"plugins_entrypoints": False, "jwt_secret_key": "t" * 40,
                                                  **values}, dotenv=None)
    return settings.with_plugins(declared_settings(make_plugin_manager(settings))).plugin("chromium")


async def test_the_allowlist_setting_is_off_by_default_and_validated():
    assert chromium_settings()["url_allowlist"] == []
    found = chromium_settings(chromium_url_allowlist="Example.com, *.example.org:8443")["url_allowlist"]
    assert found == ["example.com", "*.example.org:8443"]
    for bad in ("http://example.com", "example.com/path", "*", "exa mple.com"):
        with pytest.raises(ConfigError, match="url_allowlist"):
            chromium_settings(chromium_url_allowlist=bad)
