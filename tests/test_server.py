"""The server as a process: graceful SIGTERM, and 500 MB uploads with flat memory (on either storage)."""

from __future__ import annotations

import asyncio
import hashlib
import signal

import httpx
import pytest

from rawhttp import eventually, open_connection, read_response, request_head
from server_process import ServerProcess

BLOCK = 1024 * 1024
BIG = 500 * BLOCK


@pytest.fixture
def server(tmp_path, anclora_database_url, anclora_storage_environ):
    # anonymous callers get the smallest plan (20 MB uploads) unless the operator raises it, as here
    process = ServerProcess(tmp_path, anclora_database_url, ANCLORA_SHUTDOWN_GRACE="20",
                            ANCLORA_PLAN_LIMITS='{"anonymous": {"max_upload_bytes": 524288000}}',
                            **anclora_storage_environ)
    process.wait_ready()
    yield process
    process.stop()


async def test_sigterm_lets_in_flight_uploads_finish_and_refuses_new_connections(server):
    reader, writer = await open_connection(server.url)
    writer.write(request_head("POST", "/api/files?filename=late.bin", {"Content-Length": "200000"}))
    writer.write(b"a" * 100000)
    await writer.drain()
    await eventually(lambda: any((server.log.parent / "uploads/tmp").iterdir()))
    server.process.send_signal(signal.SIGTERM)

    async def refuses_new_connections() -> bool:
        try:  # a new connection each time: a kept-alive one would still be served
            _, probe = await open_connection(server.url)
        except ConnectionError:  # refused, or reset while the listening socket closes
            return True
        probe.close()
        return False
    await eventually(refuses_new_connections)
    writer.write(b"b" * 100000)
    await writer.drain()
    status, _, body = await read_response(reader)
    writer.close()
    assert status == 201 and b'"size":200000' in body
    assert await asyncio.get_running_loop().run_in_executor(None, server.process.wait, 30) == 0
    assert "stopping" in server.log.read_text()


def pattern_block(index: int) -> bytes:
    return hashlib.sha256(index.to_bytes(8, "big")).digest() * (BLOCK // 32)


async def big_body():
    for index in range(BIG // BLOCK):
        yield pattern_block(index)


def expected_sha256() -> str:
    digest = hashlib.sha256()
    for index in range(BIG // BLOCK):
        digest.update(pattern_block(index))
    return digest.hexdigest()


async def multipart_body(boundary: str):
    yield (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
           "Content-Type: application/octet-stream\r\n\r\n").encode()
    async for block in big_body():
        yield block
    yield f"\r\n--{boundary}--\r\n".encode()


async def download_sha256(http: httpx.AsyncClient, file_id: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    async with http.stream("GET", f"/api/files/{file_id}/content") as response:
        async for chunk in response.aiter_bytes():
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


async def test_500_mb_raw_and_multipart_uploads_keep_memory_flat(server):
    expected = await asyncio.get_running_loop().run_in_executor(None, expected_sha256)
    async with httpx.AsyncClient(base_url=server.url, timeout=300) as http:
        # a first small upload and download load what they need (on S3, its client): the rest must add little
        warm = await http.post("/api/files", params={"filename": "warm.bin"}, content=pattern_block(0))
        assert await download_sha256(http, warm.json()["id"]) == (BLOCK, hashlib.sha256(pattern_block(0)).hexdigest())
        idle = server.reset_peak_rss()
        raw = await http.post("/api/files", params={"filename": "big.bin"}, content=big_body(),
                              headers={"Content-Length": str(BIG)})
        assert raw.status_code == 201
        assert (raw.json()["size"], raw.json()["sha256"]) == (BIG, expected)
        boundary = "anclora-test-boundary"
        multipart = await http.post("/api/files", content=multipart_body(boundary),
                                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert multipart.status_code == 201
        assert (multipart.json()["size"], multipart.json()["sha256"]) == (BIG, expected)
        assert await download_sha256(http, raw.json()["id"]) == (BIG, expected)
    assert server.peak_rss_bytes() - idle < 32 * 1024 * 1024  # 500 MB each way, a few chunks held at a time


async def test_the_serving_process_leaves_heavy_libraries_to_the_processes_that_use_them(server):
    """Image libraries run in the sandboxed workers, and the token and playbook libraries load on first use: a
    server that has only taken uploads has none of their compiled modules mapped."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        upload = await http.post("/api/files", params={"filename": "a.png"}, content=b"\x89PNG\r\n\x1a\n" + bytes(64))
        assert upload.status_code == 201
        assert (await http.get("/api/formats")).status_code == 200
    maps = server.mapped_files()
    assert any("/_sqlite3" in path or "/_hashlib" in path for path in maps)  # the reading itself works
    for library in ("PIL/_imaging", "/_pillow_heif.", "cryptography/hazmat/bindings", "rpds/rpds",
                    "yaml/_yaml"):
        assert not any(library in path for path in maps), library
