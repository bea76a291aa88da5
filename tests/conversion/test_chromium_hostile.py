"""Hostile pages for the Chromium converters: requests to local services and local files reach nothing, a script
that never yields is killed at the timeout and the pool carries on, unsafe zips are refused before any browser."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

import pytest
import pytest_asyncio

from anclora.engines.chromium_pool import ChromiumPool
from anclora.engines.chromium_render import PageJob
from anclora.conversion.converter import ConversionContext
from anclora.engines.office_pool import group_processes
from anclora.errors import ConversionFailed, ConversionTimeout
from chromium_samples import site_of, WORD, Canary, pdf_text, write_html
from media_samples import bundled_converters

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.backend_independent]  # no database, no Redis

PDF = bundled_converters()["chromium_pdf"]


@pytest.fixture
def canary():
    listener = Canary()
    yield listener
    listener.close()


def snooping_page(port: int) -> str:
    """A page that tries every way it has to reach a local service or read a local file, then says what it got."""
    local = f"http://127.0.0.1:{port}"
    attempts = [f"fetch('{local}/fetch')", "fetch('file:///etc/passwd')", "fetch('/../../../../etc/passwd')",
                "fetch('/%2e%2e/%2e%2e/%2e%2e/etc/passwd')",
                f"new Promise((ok, no) => {{ const ws = new WebSocket('ws://127.0.0.1:{port}/ws');"
                " ws.onopen = () => ok(new Response('socket open')); ws.onerror = no; })"]
    script = " ".join(
        f"{attempt}.then(r => r.ok ? r.text() : Promise.reject())"
        ".then(t => note('GOT ' + t.slice(0, 40)), () => note('BLOCKED'));"
        for attempt in attempts)
    return f"""<!doctype html><html><head><link rel="stylesheet" href="{local}/style.css"></head><body>
<p>{WORD} snooping page</p>
<img src="{local}/image.png"><img src="file:///etc/passwd">
<iframe src="{local}/frame"></iframe><iframe src="file:///etc/passwd"></iframe>
<iframe src="../../../../../etc/passwd"></iframe><object data="file:///etc/passwd"></object>
<script src="{local}/script.js"></script>
<script>
  window.settled = 0;
  function note(text) {{ const p = document.createElement('p'); p.textContent = text;
                         document.body.appendChild(p); window.settled += 1; }}
  {script}
  navigator.sendBeacon('{local}/beacon', 'x');
</script></body></html>"""


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["namespace", "devtools-only"])
async def chromium(request):
    """Both with the network namespace and without it: the DevTools Fetch interception alone must hold too."""
    async with ChromiumPool(size=1, network_namespace=request.param == "namespace") as pool:
        await pool.start()
        yield pool


async def test_local_services_and_files_are_never_reached(chromium, canary, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    write_html(site / "index.html", snooping_page(canary.port))
    job = PageJob(*site_of(site), tmp_path / "out.pdf", "pdf",
                  wait_expression="window.settled === 5")
    await chromium.render(job, timeout=60)
    text = pdf_text(job.dst)
    assert f"{WORD} snooping page" in text
    assert text.count("BLOCKED") == 5 and "GOT" not in text
    assert "root:" not in text
    assert canary.hits == 0
    refused = " ".join(job.refusals)
    for path in ("style.css", "image.png", "frame", "script.js", "fetch", "beacon"):
        assert f"127.0.0.1:{canary.port}/{path}" in refused  # asked for, and refused by the router


async def test_a_page_served_from_the_folder_cannot_climb_out(chromium, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (tmp_path / "secret.txt").write_text("TOPSECRET", encoding="utf-8")
    write_html(site / "index.html", "<!doctype html><html><body><p>Frames</p>"
                                    "<iframe src='../secret.txt'></iframe><iframe src='/%2e%2e/secret.txt'></iframe>"
                                    "<iframe src='/..%2fsecret.txt'></iframe></body></html>")
    job = PageJob(*site_of(site), tmp_path / "out.pdf", "pdf")
    await chromium.render(job, timeout=60)
    assert "Frames" in pdf_text(job.dst) and "TOPSECRET" not in pdf_text(job.dst)


async def test_an_endless_script_is_killed_at_the_timeout_and_the_pool_recovers(chromium, tmp_path, convert_file):
    endless = write_html(tmp_path / "loop.html", "<!doctype html><html><body><p>Loop</p>"
                                                 "<script>while (true) {}</script></body></html>")
    workdir = tmp_path / "job"
    workdir.mkdir()
    (workdir / "input.html").write_bytes(endless.read_bytes())
    ctx = ConversionContext(workdir, "html", "pdf", timeout=5, resources={"chromium_pool": chromium})
    before = chromium.replacements
    hung = chromium.browsers[1]
    started = asyncio.get_running_loop().time()
    with pytest.raises(ConversionTimeout):
        await PDF.convert(workdir / "input.html", workdir / "output.pdf", {}, ctx)
    assert asyncio.get_running_loop().time() - started < 15
    assert chromium.replacements == before + 1
    assert group_processes(hung.pgid) == {}  # the hung browser's whole process group is gone
    page = write_html(tmp_path / "after.html", f"<!doctype html><html><body><p>{WORD} after the loop</p></body></html>")
    output = await convert_file(PDF, page, "pdf", resources={"chromium_pool": chromium})
    assert f"{WORD} after the loop" in pdf_text(output)


async def test_a_memory_hog_crashes_only_its_renderer(chromium, tmp_path, convert_file):
    hog = write_html(tmp_path / "hog.html", "<!doctype html><html><body><script>const kept = [];"
                                            "while (true) kept.push(new Array(1e6).fill(1.5));</script></body></html>")
    before = chromium.replacements
    with pytest.raises(ConversionFailed, match="crashed"):
        await convert_file(PDF, hog, "pdf", resources={"chromium_pool": chromium})
    assert chromium.replacements == before  # the browser lives on: only the page's renderer died
    page = write_html(tmp_path / "after.html", f"<!doctype html><html><body><p>{WORD} after the hog</p></body></html>")
    output = await convert_file(PDF, page, "pdf", resources={"chromium_pool": chromium})
    assert f"{WORD} after the hog" in pdf_text(output)


async def test_nothing_a_page_stores_reaches_the_next_job(chromium, tmp_path, convert_file):
    """Both jobs run in the same tab of the same browser (the pool has one): the second must find nothing."""
    keep = write_html(tmp_path / "keep.html", (
        "<!doctype html><html><body><p>Kept</p><script>localStorage.setItem('k', 'SECRETA');"
        "sessionStorage.setItem('k', 'SECRETA'); document.cookie = 'k=SECRETA'; window.name = 'SECRETA';"
        "indexedDB.open('secret');</script></body></html>"))
    look = write_html(tmp_path / "look.html", (
        "<!doctype html><html><body><p id=s></p><script>document.getElementById('s').textContent = 'STATE[' + "
        "[localStorage.length, sessionStorage.length, document.cookie, window.name, history.length].join('|') + ']';"
        "</script></body></html>"))
    await convert_file(PDF, keep, "pdf", resources={"chromium_pool": chromium})
    text = pdf_text(await convert_file(PDF, look, "pdf", resources={"chromium_pool": chromium}))
    assert "SECRETA" not in text
    assert "STATE[0|0|||2]" in text  # history: the blank tab and this page, whatever ran before


async def test_dialogs_do_not_stop_the_page(chromium, tmp_path, convert_file):
    page = write_html(tmp_path / "dialogs.html", "<!doctype html><html><body><p>Before</p><script>alert('a');"
                                                 "confirm('b'); prompt('c');</script><p>After the dialogs</p>"
                                                 "</body></html>")
    output = await convert_file(PDF, page, "pdf", resources={"chromium_pool": chromium})
    assert "After the dialogs" in pdf_text(output)


def write_zip(path: Path, entries: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.create_system = 3
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize("entries,symlink", [
    ({"index.html": b"<p>x</p>", "../escape.css": b"x"}, None),
    ({"index.html": b"<p>x</p>"}, "passwd.css"),
    ({"index.html": b"<p>x</p>", "bomb.css": b"\0" * (50 * 2**20)}, None),
], ids=["climbing-name", "symlink", "bomb"])
async def test_unsafe_zips_are_refused_before_any_browser(entries, symlink, tmp_path, convert_file):
    archive = write_zip(tmp_path / "site.zip", entries, symlink)
    with pytest.raises(ConversionFailed):
        await convert_file(PDF, archive, "pdf")
    assert not list(tmp_path.glob("job-*/site/*"))
