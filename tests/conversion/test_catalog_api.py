"""GET /api/formats and GET /api/plugins: what converts to what, by whom, at what price."""

import pytest

from anclora import hookimpl
from sample_plugins import sample_overrides


@pytest.fixture
def anclora_overrides():
    return sample_overrides()


def entries(body, source, target):
    return [c for c in body["conversions"] if c["from"] == source and c["to"] == target]


async def test_formats_list_direct_pairs_and_chains_with_price_and_schema(client):
    response = await client.get("/api/formats")
    assert response.status_code == 200
    body = response.json()
    [direct] = entries(body, "txt", "md")
    assert direct["converter"] == "upper_text" and direct["via"] == [] and direct["cost"] == 2
    assert direct["options"]["properties"]["repeat"]["maximum"] == 3
    [chain] = entries(body, "txt", "html")
    assert chain == {"from": "txt", "to": "html", "family": "document", "converter": "upper_text+md_to_html",
                     "via": ["md"],
                     "options": {"type": "object", "properties": {"title": {"type": "string", "maxLength": 20}},
                                 "additionalProperties": False},
                     "cost": 5}
    assert entries(body, "txt", "pdf") == []  # its only converter's engine is not installed
    assert {c["family"] for c in body["conversions"] if c["to"] in ("md", "html")} == {"document"}


class HalfPrice:
    @hookimpl
    def anclora_price_conversion(self, ctx, identity, converter, input_size, options):
        return None if converter.name == "md_to_html" else 1


async def test_formats_prices_come_from_the_pricing_hook(client, anclora_ctx):
    anclora_ctx.pm.register(HalfPrice(), name="half_price")
    body = (await client.get("/api/formats")).json()
    assert entries(body, "txt", "md")[0]["cost"] == 1
    assert entries(body, "txt", "html")[0]["cost"] == 1 + 3  # the hook's 1, then md_to_html's own 3


async def test_plugins_show_origin_hooks_converters_and_availability(client):
    response = await client.get("/api/plugins")
    assert response.status_code == 200
    body = response.json()
    plugins = {plugin["name"]: plugin for plugin in body["plugins"]}
    sample = plugins["sample_converters"]
    assert sample["origin"] == "file"
    assert "anclora_register_converters" in sample["hooks"] and "anclora_conversion_finished" in sample["hooks"]
    converters = {c["name"]: c for c in sample["converters"]}
    assert converters["upper_text"]["available"] is True
    assert converters["missing_engine"] == {
        "name": "missing_engine", "sources": ["txt"], "targets": ["pdf"], "engine": "nonexistent", "cost": 1,
        "available": False, "reason": "anclora-no-such-engine not found on PATH",
        "install": "apt-get install anclora-no-such-engine"}
    assert plugins["jobs"]["origin"] == "builtin" and "anclora_startup" in plugins["jobs"]["hooks"]
    assert body["sandbox"]["network_isolation"] in ("unshare --net", "unshare --map-root-user --net", "none")
