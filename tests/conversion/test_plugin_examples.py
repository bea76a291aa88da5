"""The examples in docs/plugins.md work: a drop-in file, and a package found through its entry point."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_folders import bundled_plugin_names

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


@pytest.fixture(scope="session")
def example_package(tmp_path_factory) -> Path:
    """examples/anclora-example-plugin installed (a real dist-info with its entry point) into a folder."""
    target, source = tmp_path_factory.mktemp("site"), tmp_path_factory.mktemp("src") / "package"
    shutil.copytree(EXAMPLES / "anclora-example-plugin", source)  # pip builds in the tree: keep ours clean
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-cache-dir", "--target", str(target), str(source)],
                   check=True, capture_output=True, timeout=300)
    return target


@pytest.fixture
def anclora_overrides(request, monkeypatch):
    if "example_package" in request.fixturenames:
        monkeypatch.syspath_prepend(str(request.getfixturevalue("example_package")))
        return {"plugins_entrypoints": True, "plugins_block": bundled_plugin_names(), "shutdown_grace": 2.0}
    return {"plugins_dirs": [str(EXAMPLES / "plugins")], "plugins_block": bundled_plugin_names(),
            "shutdown_grace": 2.0}


async def test_drop_in_file_converts(client):
    response = await client.post("/api/convert?to=txt&filename=poem.txt", content="abc\nxyz\n".encode())
    assert response.status_code == 200, response.text
    assert response.text == "cba\nzyx\n"
    response = await client.post("/api/convert?to=txt&filename=poem.txt&lines=true", content=b"one\ntwo\n")
    assert response.text == "two\none\n"
    plugins = {p["name"]: p for p in (await client.get("/api/plugins")).json()["plugins"]}
    assert plugins["reverse_text"]["origin"] == "file" and plugins["reverse_text"]["version"] == "1.0.0"


async def test_entry_point_package_loads_converts_and_serves_its_route(example_package, client):
    plugins = {p["name"]: p for p in (await client.get("/api/plugins")).json()["plugins"]}
    word_count = plugins["word_count"]
    assert word_count["origin"] == "entrypoint" and word_count["version"] == "0.2.0"
    assert {"anclora_startup", "anclora_shutdown", "anclora_handlers"} <= set(word_count["hooks"])
    response = await client.post("/api/convert?to=json&filename=a.txt", content=b"two words\nand three more\n")
    assert response.status_code == 200, response.text
    assert response.json() == {"lines": 2, "words": 5, "characters": 25}
    stats = await client.get("/api/example/word-count")
    assert stats.json() == {"finished": 1}
    assert (await client.get("/api/me")).json()["word_counts_finished"] == 1


def test_entry_point_package_has_settings_of_its_own(example_package, monkeypatch):
    from types import SimpleNamespace

    from anclora import config
    from anclora.plugins import declared_settings, make_plugin_manager

    monkeypatch.syspath_prepend(str(example_package))
    settings = config.load(environ={"ANCLORA_PLUGINS__WORD_COUNT__STATS_ROUTE": "false"}, dotenv=None,
                           overrides={"plugins_block": bundled_plugin_names()})
    pm = make_plugin_manager(settings)
    settings = settings.with_plugins(declared_settings(pm))
    assert settings.plugin("word_count") == {"stats_route": False}
    assert pm.get_plugin("word_count").anclora_handlers(SimpleNamespace(settings=settings)) == []
