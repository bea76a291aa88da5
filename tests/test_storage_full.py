"""A full disk: every upload path and a conversion's output answer 507 insufficient_storage, leave nothing behind,
log one line without a traceback, and the server goes on serving once there is room again."""

import asyncio
import io
import json
import logging
import subprocess

import pytest
from PIL import Image
from rawhttp import open_connection, read_response, request_head

DISK = 8 * 1024 * 1024
MiB = 1024 * 1024


@pytest.fixture
def anclora_storage() -> str:
    """The local folder: these tests fill its disk (on S3 only the scratch folder is local, and a bucket has no
    free space to reserve)."""
    return "local"


@pytest.fixture
def small_disk(tmp_path):
    """The upload folder on its own 8 MiB tmpfs (the tests run as root); unmounted afterwards."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", "--lazy", str(folder)], check=True)  # (an engine may still sit in a folder)


@pytest.fixture
def anclora_overrides(request, small_disk):
    """The upload folder on the small disk; no reserve unless a test asks for one (indirect parameter)."""
    reserve = getattr(request, "param", 0)
    return {"upload_folder": str(small_disk), "storage_min_free_bytes": reserve, "log_level": "INFO"}


async def chunks(total: int, size: int = 256 * 1024):
    """A body without Content-Length (chunked), so that only the disk can stop it."""
    for _ in range(total // size):
        yield b"x" * size


async def multipart(total: int, boundary: str = "b0undary"):
    yield f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n".encode()
    async for chunk in chunks(total):
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def leftovers(disk) -> list[str]:
    """Files on the disk, but for the warm engines' own folder (it outlives requests)."""
    return sorted(str(path.relative_to(disk)) for path in disk.rglob("*")
                  if path.is_file() and ".warm" not in path.parts)


def assert_full(response) -> None:
    assert response.status_code == 507, response.text
    assert response.json()["error"]["code"] == "insufficient_storage"


def assert_logged_once(caplog, path: str) -> None:
    lines = [r for r in caplog.records if r.name.startswith("anclora") and r.name != "anclora.access"
             and path in r.getMessage() and "507" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert not any(r.exc_info for r in caplog.records), "a traceback reached the log"


async def assert_still_serving(client) -> None:
    response = await client.post("/api/files?filename=small.txt", content=b"still here")
    assert response.status_code == 201, response.text


async def test_plain_and_multipart_uploads_on_a_full_disk(client, small_disk, caplog):
    caplog.set_level(logging.INFO)
    assert_full(await client.post("/api/files?filename=big.bin", content=chunks(12 * MiB)))
    assert_logged_once(caplog, "/api/files")
    assert leftovers(small_disk) == []
    caplog.clear()
    assert_full(await client.post("/api/files", content=multipart(12 * MiB),
                                  headers={"Content-Type": "multipart/form-data; boundary=b0undary"}))
    assert_logged_once(caplog, "/api/files")
    assert leftovers(small_disk) == []
    await assert_still_serving(client)
    assert (await client.get("/api/files")).json()["files"][0]["filename"] == "small.txt"


async def test_a_declared_length_that_cannot_fit_is_refused_before_the_body(client, anclora_server, small_disk):
    reader, writer = await open_connection(anclora_server)  # as curl sends a large body: 100-continue first
    writer.write(request_head("POST", "/api/files?filename=big.bin", {
        "Content-Length": str(9 * MiB), "Expect": "100-continue"}))
    status, headers, body = await read_response(reader)
    writer.close()
    assert status == 507 and json.loads(body)["error"]["details"]["declared"] == 9 * MiB and headers["retry-after"]
    created = await client.post("/api/uploads/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(9 * MiB)})
    assert_full(created)
    assert leftovers(small_disk) == []


async def test_a_resumable_upload_on_a_full_disk_keeps_its_offset_and_resumes(client, small_disk, caplog):
    caplog.set_level(logging.INFO)
    tus = {"Tus-Resumable": "1.0.0"}
    created = await client.post("/api/uploads/", headers={**tus, "Upload-Length": str(6 * MiB)})
    location = created.headers["Location"]
    ballast = small_disk / "ballast"  # another tenant of the disk fills it meanwhile
    ballast.write_bytes(b"\0" * (4 * MiB))
    patched = await client.patch(location, content=b"y" * (6 * MiB), headers={
        **tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert_full(patched)
    assert_logged_once(caplog, location)
    assert (await client.head(location, headers=tus)).headers["Upload-Offset"] == "0"
    ballast.unlink()
    resumed = await client.patch(location, content=b"y" * (6 * MiB), headers={
        **tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert resumed.status_code == 204 and resumed.headers["Anclora-File-Id"]


def flat_png(width: int, height: int) -> bytes:
    """A few kilobytes that become width*height*3 bytes as BMP."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


async def test_a_conversion_whose_output_fills_the_disk(client, small_disk, caplog):
    caplog.set_level(logging.INFO)
    response = await client.post("/api/convert?to=bmp&filename=flat.png", content=flat_png(2000, 2000))
    assert_full(response)
    assert "space" in response.json()["error"]["message"]
    assert not any(r.exc_info for r in caplog.records), "a traceback reached the log"
    assert leftovers(small_disk) == []
    small = await client.post("/api/convert?to=bmp&filename=flat.png", content=flat_png(100, 100))
    assert small.status_code == 200 and small.content.startswith(b"BM")


@pytest.mark.parametrize("anclora_overrides", [4 * MiB], indirect=True)
async def test_below_the_reserve_health_is_degraded_and_uploads_that_would_eat_into_it_are_refused(
        client, small_disk):
    storage = (await client.get("/api/health")).json()["checks"]["storage"]
    assert storage["status"] == "up" and storage["min_free_bytes"] == 4 * MiB
    assert (await client.post("/api/files?filename=fits.bin", content=b"f" * MiB)).status_code == 201
    (small_disk / "ballast").write_bytes(b"\0" * (4 * MiB))  # another tenant of the disk: 3 MiB left

    async def degraded():
        return (await client.get("/api/health")).json()
    deadline = asyncio.get_running_loop().time() + 10
    while (report := await degraded())["checks"]["storage"]["status"] != "degraded":
        assert asyncio.get_running_loop().time() < deadline, report
        await asyncio.sleep(0.2)
    assert report["status"] == "degraded"
    assert_full(await client.post("/api/files?filename=small.bin", content=b"s" * 1024))
    (small_disk / "ballast").unlink()
    assert (await client.post("/api/files?filename=small.bin", content=b"s" * 1024)).status_code == 201

