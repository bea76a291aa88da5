"""Uploads scanned by a real clamd: the EICAR test file is refused with 422 `infected` on every path (raw and
multipart bodies, one-shot conversions, tus, Gotenberg forms) and leaves nothing behind; clean files are stored;
the health report and the metrics show the scanner."""

from __future__ import annotations

import pytest
from clamd_process import EICAR, SIGNATURE
from scan_helpers import CLEAN, NOTHING, OCTETS, TUS, UPLOAD_LIMIT, assert_infected, scans, tus_create

from anclora.errors import ConfigError
from anclora.server import build_context


@pytest.fixture
def anclora_overrides(clamd, request):
    """clamd on its socket; `tcp` (indirect parameter): on its TCP port; `off`: no scanning."""
    reach = {"socket": {"clamd_socket": str(clamd.socket)},
             "tcp": {"clamd_host": "127.0.0.1", "clamd_port": clamd.port}, "off": {}}
    return {"max_content_length": UPLOAD_LIMIT, **reach[getattr(request, "param", "socket")]}


async def test_an_infected_raw_upload_is_refused_and_nothing_is_stored(client, stored):
    assert_infected(await client.post("/api/files?filename=eicar.com", content=EICAR))
    assert await stored() == NOTHING
    assert (await client.get("/api/files")).json()["files"] == []
    assert await scans(client, "infected") == 1


async def test_an_infected_multipart_upload_is_refused_and_nothing_is_stored(client, stored):
    response = await client.post("/api/files", files={"file": ("eicar.com", EICAR, "application/octet-stream")})
    assert_infected(response)
    assert await stored() == NOTHING


async def test_an_infected_one_shot_conversion_is_refused_before_any_engine_runs(client, stored):
    assert_infected(await client.post("/api/convert?to=pdf&filename=eicar.txt", content=EICAR))
    assert await stored() == NOTHING
    assert (await client.get("/api/conversions")).json()["conversions"] == []


async def test_an_infected_tus_upload_is_refused_by_its_last_patch_and_nothing_is_left(client, stored):
    location = await tus_create(client, len(EICAR))
    first = await client.patch(location, content=EICAR[:30], headers={**OCTETS, "Upload-Offset": "0"})
    assert first.status_code == 204, first.text
    assert_infected(await client.patch(location, content=EICAR[30:], headers={**OCTETS, "Upload-Offset": "30"}))
    assert await stored() == NOTHING
    assert (await client.head(location, headers=TUS)).status_code == 404


async def test_an_infected_tus_upload_sent_with_its_creation_is_refused(client, stored):
    response = await client.post("/api/uploads/", content=EICAR, headers={
        **OCTETS, "Upload-Length": str(len(EICAR))})
    assert_infected(response)
    assert await stored() == NOTHING


async def test_an_infected_file_in_a_gotenberg_form_is_refused_with_every_other_file(client, stored):
    response = await client.post("/forms/pdfengines/merge", files=[
        ("files", ("a.pdf", b"%PDF-1.4 not converted: refused before", "application/pdf")),
        ("files", ("eicar.pdf", EICAR, "application/pdf")),
        ("files", ("c.pdf", b"%PDF-1.4 after the infected one", "application/pdf"))])
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert SIGNATURE in response.text
    assert await stored() == NOTHING


async def test_clean_uploads_are_stored_on_every_path(client, stored):
    raw = await client.post("/api/files?filename=clean.txt", content=CLEAN)
    assert raw.status_code == 201, raw.text
    assert (await client.get(f"/api/files/{raw.json()['id']}/content")).content == CLEAN
    multipart = await client.post("/api/files", files={"file": ("clean.txt", CLEAN, "text/plain")})
    assert multipart.status_code == 201, multipart.text
    location = await tus_create(client, len(CLEAN))
    patched = await client.patch(location, content=CLEAN, headers={**OCTETS, "Upload-Offset": "0"})
    assert patched.status_code == 204, patched.text
    file_id = patched.headers["Anclora-File-Id"]
    assert (await client.get(f"/api/files/{file_id}/content")).content == CLEAN
    counted = await stored()
    assert (counted["files"], len(counted["objects"]), counted["parts"]) == (3, 3, [])
    assert await scans(client, "clean") == 3


async def test_an_empty_tus_upload_needs_no_scan(client):
    response = await client.post("/api/uploads/", headers={**TUS, "Upload-Length": "0"})
    assert response.status_code == 201, response.text
    assert response.headers["Anclora-File-Id"]
    assert await scans(client, "clean") == 0


@pytest.mark.parametrize("anclora_overrides", ["tcp"], indirect=True)
async def test_clamd_over_tcp(client, clamd, anclora_ctx, stored):
    assert anclora_ctx.scanner.address == f"127.0.0.1:{clamd.port}"
    assert_infected(await client.post("/api/files?filename=eicar.com", content=EICAR))
    assert await stored() == NOTHING
    assert (await client.post("/api/files?filename=clean.txt", content=CLEAN)).status_code == 201


async def test_health_shows_the_scanner_and_its_version(client):
    report = (await client.get("/api/health")).json()
    scanner = report["checks"]["scanner"]
    assert scanner["status"] == "up"
    assert scanner["version"].startswith("ClamAV ")
    assert scanner["fail_open"] is False


def test_a_socket_and_a_host_together_stop_the_start(anclora_settings):
    with pytest.raises(ConfigError, match="clamd_socket or clamd_host"):
        build_context(anclora_settings.replace(clamd_host="127.0.0.1"))


@pytest.mark.parametrize("anclora_overrides", ["off"], indirect=True)
async def test_without_a_clamd_setting_nothing_is_scanned(client, stored):
    assert "scanner" not in (await client.get("/api/health")).json()["checks"]
    assert (await client.post("/api/files?filename=eicar.com", content=EICAR)).status_code == 201
    assert (await stored())["files"] == 1
