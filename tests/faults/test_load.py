"""Fifty 20 MiB uploads at once to a real server process: every one stored whole, each right by its sha256."""

import asyncio
import hashlib
import json
import os

import httpx
from server_process import ServerProcess

from anclora.identity import new_session_token

MiB = 1024 * 1024
UPLOADS = 50
SIZE = 20 * MiB  # the anonymous limit, exactly


async def upload(client: httpx.AsyncClient, number: int, block: bytes) -> tuple[str, dict]:
    """Send SIZE bytes unlike every other upload's (the number leads each MiB); (their sha256, the answer)."""
    digest = hashlib.sha256()

    async def body():
        for _ in range(SIZE // MiB):
            chunk = number.to_bytes(4, "big") + block[4:]
            digest.update(chunk)
            yield chunk
    response = await client.post(f"/api/files?filename=u{number}.bin", content=body(),
                                 headers={"Content-Length": str(SIZE)})
    assert response.status_code == 201, response.text
    return digest.hexdigest(), response.json()


async def test_fifty_concurrent_20_mib_uploads(tmp_path, anclora_database_url, anclora_storage_environ):
    limits = {"anonymous": {"uploads_per_minute": UPLOADS}}
    server = ServerProcess(tmp_path, anclora_database_url, ANCLORA_PLAN_LIMITS=json.dumps(limits),
                           **anclora_storage_environ)
    server.wait_ready()
    block = os.urandom(MiB)
    try:
        session = {"X-Anclora-Session": new_session_token()}  # one caller's fifty uploads
        async with httpx.AsyncClient(base_url=server.url, timeout=300, headers=session,
                                     limits=httpx.Limits(max_connections=UPLOADS)) as client:
            answers = await asyncio.gather(*(upload(client, number, block) for number in range(UPLOADS)))
            for sent, stored in answers:
                assert stored["size"] == SIZE and stored["sha256"] == sent
            listed = (await client.get("/api/files?limit=100")).json()["files"]
        assert len(listed) == UPLOADS and len({f["sha256"] for f in listed}) == UPLOADS
        assert list((tmp_path / "uploads" / "tmp").iterdir()) == []
    finally:
        server.stop()
