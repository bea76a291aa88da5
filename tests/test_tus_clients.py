"""tus without credentials: the upload URL is the capability of an anonymous upload. Real clients (tuspy, and
tus-js-client run by Node) upload, resume and then convert their file without any cookie jar."""

from __future__ import annotations

import asyncio
import io
import json
import os
from pathlib import Path

import httpx
import pytest
from tusclient.client import TusClient
from plugin_folders import JOBS, bundled_plugin_names
from tusclient.storage.filestorage import FileStorage


TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}
JS_CLIENTS = Path(__file__).parent / "js"
CHUNK = 64 * 1024
pytestmark = pytest.mark.storage_backends


@pytest.fixture
def anclora_overrides():
    return {"plugins_dirs": [str(JOBS)], "plugins_block": bundled_plugin_names() + ["billing"]}


def text_body(size: int) -> bytes:
    return (b"resumable without cookies\n" * (size // 26 + 1))[:size]


async def convert_as(server: str, session: str, file_id: str) -> bytes:
    """Convert the file to md as a client that holds only the session token, and fetch the result."""
    async with httpx.AsyncClient(base_url=server, headers={"X-Anclora-Session": session}) as client:
        created = await client.post("/api/conversions", json={"file_id": file_id, "to": "md"})
        assert created.status_code == 202, created.text
        for _ in range(600):
            conversion = (await client.get(f"/api/conversions/{created.json()['id']}")).json()
            if conversion["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.05)
        assert conversion["status"] == "succeeded", conversion
        return (await client.get(f"/api/conversions/{conversion['id']}/result")).content


async def test_tuspy_uploads_in_pieces_with_checksums_and_the_file_can_be_converted(anclora_server):
    body = text_body(300_000)
    uploader = TusClient(f"{anclora_server}/api/uploads/").uploader(
        file_stream=io.BytesIO(body), chunk_size=CHUNK, upload_checksum=True,
        metadata={"filename": "notes.txt", "filetype": "text/plain"})
    await asyncio.to_thread(uploader.upload)
    answered = uploader.request.response_headers
    file_id, session = answered["anclora-file-id"], answered["x-anclora-session"]

    async with httpx.AsyncClient(base_url=anclora_server) as stranger:
        assert (await stranger.get(f"/api/files/{file_id}")).status_code == 404  # the file is the session's
        owned = await stranger.get(f"/api/files/{file_id}/content", headers={"X-Anclora-Session": session})
        assert owned.status_code == 200 and owned.content == body
    assert await convert_as(anclora_server, session, file_id) == body.upper()


class KeptOpen(io.BytesIO):
    """The file a client reads (tuspy closes the stream after fingerprinting it, then reads it again)."""

    def close(self) -> None:
        pass


async def test_tuspy_resumes_an_interrupted_upload_from_its_stored_url(anclora_server, tmp_path):
    body = text_body(400_000)
    urls = FileStorage(str(tmp_path / "tus-urls.json"))

    def uploader():
        return TusClient(f"{anclora_server}/api/uploads/").uploader(
            file_stream=KeptOpen(body), chunk_size=CHUNK, store_url=True, url_storage=urls, upload_checksum=True)
    try:
        first = await asyncio.to_thread(uploader)
        await asyncio.to_thread(first.upload, 3 * CHUNK)  # stops here, as a client killed mid-way would
        assert first.offset == 3 * CHUNK and first.request.response_headers.get("anclora-file-id") is None

        resumed = await asyncio.to_thread(uploader)  # a new client finds the URL in its storage, asks the offset
        assert resumed.url == first.url and resumed.offset == 3 * CHUNK
        await asyncio.to_thread(resumed.upload)
    finally:
        urls.close()
    answered = resumed.request.response_headers
    async with httpx.AsyncClient(base_url=anclora_server,
                                 headers={"X-Anclora-Session": answered["x-anclora-session"]}) as owner:
        content = await owner.get(f"/api/files/{answered['anclora-file-id']}/content")
    assert content.content == body


async def run_node(*args: str) -> dict:
    process = await asyncio.create_subprocess_exec(
        "node", str(JS_CLIENTS / "tus_upload.mjs"), *args, cwd=JS_CLIENTS,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


async def test_tus_js_client_resumes_without_credentials_and_the_file_can_be_converted(anclora_server, tmp_path):
    body = text_body(500_000)
    path = tmp_path / "from-node.txt"
    path.write_bytes(body)
    endpoint = f"{anclora_server}/api/uploads/"
    stopped = await run_node(endpoint, str(path), str(CHUNK), "--stop-after", str(2 * CHUNK))
    assert stopped["stopped"] and stopped["fileId"] is None and stopped["session"]

    finished = await run_node(endpoint, str(path), str(CHUNK), "--resume", stopped["url"])
    assert finished["url"] == stopped["url"] and finished["session"] == stopped["session"]
    assert finished["fileId"] and int(finished["offset"]) == len(body)
    assert await convert_as(anclora_server, finished["session"], finished["fileId"]) == body.upper()


async def test_the_upload_url_is_the_capability_of_an_anonymous_upload(client, anclora_server):
    """The creator has a cookie jar; whoever holds the URL (here without any) may HEAD, PATCH and DELETE, and
    every answer names the creator's session. The file is the creator's."""
    created = await client.post("/api/uploads/", headers={**TUS, "Upload-Length": "20"})
    location, session = created.headers["Location"], created.headers["X-Anclora-Session"]
    async with httpx.AsyncClient(base_url=anclora_server) as holder:
        head = await holder.head(location, headers=TUS)
        assert head.status_code == 200 and head.headers["X-Anclora-Session"] == session
        assert "Content-Type" not in head.headers and "ETag" not in head.headers
        patch = await holder.patch(location, content=b"0123456789" * 2, headers={**OCTETS, "Upload-Offset": "0"})
        assert patch.status_code == 204 and patch.headers["X-Anclora-Session"] == session
        assert "Content-Type" not in patch.headers
        file_id = patch.headers["Anclora-File-Id"]
        assert (await holder.get(f"/api/files/{file_id}")).status_code == 404
    assert (await client.get(f"/api/files/{file_id}")).json()["size"] == 20  # (the creator's cookie)

    second = await client.post("/api/uploads/", headers={**TUS, "Upload-Length": "5"})
    async with httpx.AsyncClient(base_url=anclora_server) as holder:
        deleted = await holder.delete(second.headers["Location"], headers=TUS)
        assert deleted.status_code == 204 and deleted.headers["X-Anclora-Session"] == session
    assert (await client.head(second.headers["Location"], headers=TUS)).status_code == 404


async def test_a_guessed_upload_url_reaches_nothing(client, anclora_server):
    await client.post("/api/uploads/", headers={**TUS, "Upload-Length": "10"})
    async with httpx.AsyncClient(base_url=anclora_server) as guesser:
        guessed = f"/api/uploads/{os.urandom(16).hex()[:8]}-0000-4000-8000-{os.urandom(6).hex()}"
        assert (await guesser.head(guessed, headers=TUS)).status_code == 404
