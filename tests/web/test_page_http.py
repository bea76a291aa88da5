"""The web page over plain HTTP: its security and caching headers, content-hash file names, the links from account
e-mails, and an API-only server when the plugin is blocked."""

from __future__ import annotations

import re

import pytest

from anclora import web


async def test_the_page_is_not_cached_and_forbids_inline_and_foreign_code(client):
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-store"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in page.text and " style=" not in page.text and "http" not in page.text.replace(
        "http-equiv", "")  # no inline code, nothing from another origin

    names = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert len(names) >= 8 and all(re.fullmatch(r"/static/[a-z0-9]+\.[0-9a-f]{12}\.(js|css|svg)", n) for n in names)
    for name in names:
        asset = await client.get(name)
        assert asset.status_code == 200
        assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Set-Cookie" not in asset.headers  # the same bytes for everyone
    missing = await client.get("/static/app.000000000000.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.backend_independent
def test_a_changed_file_gets_a_new_name():
    assert web._hashed("app.js", b"one") != web._hashed("app.js", b"two")
    assert web._hashed("app.js", b"one").startswith("app.") and web._hashed("app.js", b"one").endswith(".js")


async def test_links_from_account_emails_open_the_page(client):
    for path in ("/reset-password", "/verify"):
        response = await client.get(path)
        assert response.status_code == 200 and "Anclora Converter" in response.text


class TestBlocked:
    @pytest.fixture
    def anclora_overrides(self):
        return {"plugins_block": ["web"]}

    async def test_an_api_only_server_has_no_page(self, client):
        response = await client.get("/")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        assert (await client.get("/api/health")).status_code == 200
        plugins = (await client.get("/api/plugins")).json()["plugins"]
        assert "web" not in {plugin["name"] for plugin in plugins}
