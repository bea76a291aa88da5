"""clamd stopped, or frozen past `clamd_timeout`: uploads are refused with 503 and Retry-After and nothing is stored
(fail closed), or stored with a warning in the log under `clamd_fail_open`; the health report follows clamd."""

from __future__ import annotations

import asyncio
import logging

import pytest
from clamd_process import ClamdProcess
from rawhttp import eventually
from scan_helpers import CLEAN, NOTHING, OCTETS, scans, tus_create

from anclora.uploads import tus as resumable


@pytest.fixture
def own_clamd(tmp_path):
    """A clamd of this test's own, to stop or freeze."""
    process = ClamdProcess(tmp_path / "clamd").start()
    yield process
    process.stop()


@pytest.fixture
def anclora_overrides(own_clamd, request):
    return {"clamd_socket": str(own_clamd.socket), **getattr(request, "param", {})}


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "scanner_unavailable"
    assert int(response.headers["Retry-After"]) > 0


async def test_with_clamd_stopped_every_upload_is_refused_and_nothing_is_stored(client, own_clamd, stored):
    own_clamd.kill()
    assert_unavailable(await client.post("/api/files?filename=clean.txt", content=CLEAN))
    assert_unavailable(await client.post("/api/files", files={"file": ("clean.txt", CLEAN, "text/plain")}))
    location = await tus_create(client, len(CLEAN))
    assert_unavailable(await client.patch(location, content=CLEAN, headers={**OCTETS, "Upload-Offset": "0"}))
    form = await client.post("/forms/pdfengines/merge", files=[("files", ("a.pdf", CLEAN, "application/pdf"))])
    assert form.status_code == 503 and form.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert form.headers["Retry-After"]
    assert await stored() == NOTHING
    assert await scans(client, "unavailable") == 4


@pytest.mark.parametrize("anclora_overrides", [{"clamd_timeout": 0.5}], indirect=True)
async def test_a_frozen_clamd_times_out_into_503(client, own_clamd, stored):
    own_clamd.pause()
    try:
        assert_unavailable(await client.post("/api/files?filename=clean.txt", content=CLEAN))
    finally:
        own_clamd.resume()
    assert await stored() == NOTHING
    assert (await client.post("/api/files?filename=clean.txt", content=CLEAN)).status_code == 201


@pytest.mark.parametrize("anclora_overrides", [{"clamd_fail_open": True}], indirect=True)
async def test_fail_open_stores_uploads_unscanned_with_a_warning(client, own_clamd, stored, caplog):
    own_clamd.kill()
    with caplog.at_level(logging.WARNING, logger="anclora.scanning"):
        response = await client.post("/api/files?filename=clean.txt", content=CLEAN)
    assert response.status_code == 201, response.text
    assert (await client.get(f"/api/files/{response.json()['id']}/content")).content == CLEAN
    warnings = [r.getMessage() for r in caplog.records if r.name == "anclora.scanning"]
    assert len(warnings) == 1 and "UNSCANNED" in warnings[0] and r"clamd_fail_open" in warnings[0]
    assert (await stored())["files"] == 1
    assert await scans(client, "unscanned") == 1
    health = (await client.get("/api/health")).json()["checks"]["scanner"]
    assert health["status"] == "down" and health["fail_open"] is True


async def test_health_follows_clamd_down_and_up_again(client, own_clamd):
    async def scanner() -> dict:
        report = (await client.get("/api/health")).json()
        return {"overall": report["status"], **report["checks"]["scanner"]}

    assert (await scanner())["status"] == "up"
    own_clamd.kill()
    await eventually(lambda: _is(scanner, "down"))  # (the report is shared for a second)
    down = await scanner()
    assert down["overall"] == "degraded"
    assert down["error"] == "unreachable"  # (a stranger is not told the socket's path)
    own_clamd.start()
    await eventually(lambda: _is(scanner, "up"))
    assert (await client.post("/api/files?filename=clean.txt", content=CLEAN)).status_code == 201


async def _is(scanner, status: str) -> bool:
    return (await scanner())["status"] == status


@pytest.mark.parametrize("anclora_overrides", [{"clamd_timeout": 30.0}], indirect=True)
async def test_a_slow_scan_keeps_the_tus_upload_locked_until_it_is_a_file(client, own_clamd, monkeypatch):
    monkeypatch.setattr(resumable, "LOCK_SECONDS", 1.0)
    location = await tus_create(client, len(CLEAN))
    own_clamd.pause()
    try:
        last = asyncio.ensure_future(client.patch(location, content=CLEAN, headers={**OCTETS, "Upload-Offset": "0"}))
        await eventually(lambda: all_bytes_in(client, len(CLEAN)))  # (then the scan starts, and waits)
        await asyncio.sleep(3 * resumable.LOCK_SECONDS)  # (the scan outlasts the lock: the point of the test)
        again = await client.patch(location, content=CLEAN, headers={**OCTETS, "Upload-Offset": "0"})
        assert again.status_code == 409, again.text
    finally:
        own_clamd.resume()
    finished = await last
    assert finished.status_code == 204, finished.text
    assert (await client.get(f"/api/files/{finished.headers['Anclora-File-Id']}/content")).content == CLEAN


async def all_bytes_in(client, size: int) -> bool:
    text = (await client.get("/api/metrics")).text
    return any(row == f"anclora_upload_bytes_total {float(size)}" for row in text.splitlines())
