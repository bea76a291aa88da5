"""The formats table and plugin list with the converters Anclora ships (whatever engines this machine has)."""

from anclora.plugins import bundled_plugins_dir


async def test_formats_with_the_shipped_plugins(client):
    response = await client.get("/api/formats")
    assert response.status_code == 200
    conversions = response.json()["conversions"]
    assert conversions, "the shipped plugins offer no conversion at all"
    pairs = {(c["from"], c["to"]) for c in conversions}
    assert all(len(c["via"]) <= 1 and isinstance(c["cost"], int) for c in conversions)
    assert all(c["options"].get("type") == "object" for c in conversions)
    chains = [c for c in conversions if c["via"]]
    assert all((c["from"], c["to"]) not in {(d["from"], d["to"]) for d in conversions if not d["via"]}
               for c in chains), "a chain is offered where a single converter exists"
    assert ("png", "jpeg") in pairs


async def test_plugins_list_every_shipped_plugin(client):
    shipped = {p.stem for p in bundled_plugins_dir().glob("*.py") if not p.name.startswith("_")}
    plugins = {p["name"]: p for p in (await client.get("/api/plugins")).json()["plugins"]}
    assert shipped <= set(plugins)
    assert all(plugins[name]["origin"] == "file" for name in shipped)
    for name in shipped:
        for converter in plugins[name]["converters"]:
            assert converter["available"] or converter["reason"], converter
