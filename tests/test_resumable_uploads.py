"""Resumable uploads over tus 1.0.0, as a tus client sees them: create, append, resume after a cut, checksums,
termination, expiry, and the file the upload becomes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os

import httpx
import pytest
from sqlalchemy import update

from anclora.uploads import tus as resumable
from anclora.db.base import utcnow
from anclora.db.models import ResumableUpload
from rawhttp import eventually, open_connection, read_response, request_head
from storage_state import bytes_received, held

pytestmark = pytest.mark.storage_backends

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}


@pytest.fixture
def anclora_overrides():
    return {"idle_timeout": 1.0, "max_content_length": 4 * 1024 * 1024}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def create(client, length: int, filename: str = "report.txt", **headers) -> str:
    metadata = f"filename {b64(filename)},filetype {b64('text/plain')}"
    response = await client.post("/api/uploads/", headers={
        **TUS, "Upload-Length": str(length), "Upload-Metadata": metadata, **headers})
    assert response.status_code == 201, response.text
    assert response.headers["Tus-Resumable"] == "1.0.0" and response.headers["Upload-Expires"].endswith("GMT")
    return response.headers["Location"]


async def offset_of(client, location: str) -> int:
    response = await client.head(location, headers=TUS)
    assert response.status_code == 200
    return int(response.headers["Upload-Offset"])


async def test_options_says_what_the_server_speaks(client):
    response = await client.options("/api/uploads/")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation", "creation-with-upload", "termination", "checksum", "expiration"}
    assert set(response.headers["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "sha256"}
    assert int(response.headers["Tus-Max-Size"]) == 4 * 1024 * 1024


async def test_upload_in_pieces_becomes_a_file(client):
    body = os.urandom(300_000)
    location = await create(client, len(body), filename="données.txt")
    head = await client.head(location, headers=TUS)
    assert head.headers["Upload-Length"] == str(len(body)) and head.headers["Upload-Offset"] == "0"
    assert resumable.parse_metadata(head.headers["Upload-Metadata"]) == {"filename": "données.txt",
                                                                        "filetype": "text/plain"}
    first = await client.patch(location, content=body[:100_000], headers={**OCTETS, "Upload-Offset": "0"})
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "100000"
    assert "Anclora-File-Id" not in first.headers
    last = await client.patch(location, content=body[100_000:], headers={**OCTETS, "Upload-Offset": "100000"})
    assert last.status_code == 204 and last.headers["Upload-Offset"] == str(len(body))
    file_id = last.headers["Anclora-File-Id"]
    record = (await client.get(f"/api/files/{file_id}")).json()
    assert record["filename"] == "données.txt" and record["size"] == len(body)
    assert record["sha256"] == hashlib.sha256(body).hexdigest()
    assert (await client.get(f"/api/files/{file_id}/content")).content == body
    described = (await client.get(location)).json()
    assert described["file_id"] == file_id and described["offset"] == described["length"] == len(body)
    assert described["expires_at"].endswith("Z") and described["metadata"]["filename"] == "données.txt"
    again = await client.patch(location, content=b"x", headers={**OCTETS, "Upload-Offset": str(len(body))})
    assert again.status_code == 409


async def test_creation_with_upload_takes_the_whole_body(client):
    body = b"all at once\n" * 1000
    response = await client.post("/api/uploads/", content=body, headers={
        **OCTETS, "Upload-Length": str(len(body)), "Upload-Metadata": f"filename {b64('once.txt')}"})
    assert response.status_code == 201 and response.headers["Upload-Offset"] == str(len(body))
    file_id = response.headers["Anclora-File-Id"]
    assert (await client.get(f"/api/files/{file_id}/content")).content == body


@pytest.mark.parametrize("with_body", [False, True])
async def test_an_empty_upload_is_a_file_at_once(client, with_body):
    headers = {**(OCTETS if with_body else TUS), "Upload-Length": "0", "Upload-Metadata": f"filename {b64('e.txt')}"}
    response = await client.post("/api/uploads/", content=b"", headers=headers)
    assert response.status_code == 201
    record = (await client.get(f"/api/files/{response.headers['Anclora-File-Id']}")).json()
    assert record["size"] == 0 and record["filename"] == "e.txt"
    assert (await client.get(response.headers["Location"])).json()["file_id"] == record["id"]


async def test_method_override_lets_a_post_append(client):
    location = await create(client, 3)
    response = await client.post(location, content=b"abc", headers={
        **OCTETS, "Upload-Offset": "0", "X-HTTP-Method-Override": "PATCH"})
    assert response.status_code == 204 and response.headers["Anclora-File-Id"]


async def test_protocol_mistakes_get_the_tus_answers(client):
    location = await create(client, 10)
    wrong_offset = await client.patch(location, content=b"abc", headers={**OCTETS, "Upload-Offset": "5"})
    assert wrong_offset.status_code == 409 and wrong_offset.headers["Upload-Offset"] == "0"
    assert wrong_offset.json()["error"]["code"] == "conflict"
    wrong_type = await client.patch(location, content=b"abc", headers={**TUS, "Upload-Offset": "0",
                                                                     "Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    no_version = await client.patch(location, content=b"abc", headers={
        "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
    assert no_version.status_code == 412 and no_version.headers["Tus-Version"] == "1.0.0"
    too_long = await client.patch(location, content=b"x" * 11, headers={**OCTETS, "Upload-Offset": "0"})
    assert too_long.status_code == 413
    huge = await client.patch(location, content=b"abc", headers={**OCTETS, "Upload-Offset": "9" * 20})
    assert huge.status_code == 400 and huge.json()["error"]["code"] == "bad_request"
    no_length = await client.post("/api/uploads/", headers=TUS)
    assert no_length.status_code == 400
    bad_metadata = await client.post("/api/uploads/", headers={**TUS, "Upload-Length": "1",
                                                               "Upload-Metadata": "filename ***"})
    assert bad_metadata.status_code == 400
    assert await offset_of(client, location) == 0  # none of it was kept


async def test_an_upload_over_the_limit_is_refused_at_creation(client):
    response = await client.post("/api/uploads/", headers={**TUS, "Upload-Length": str(4 * 1024 * 1024 + 1)})
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


async def test_checksums_make_a_piece_all_or_nothing(client):
    location = await create(client, 8)
    bad = await client.patch(location, content=b"abcd", headers={
        **OCTETS, "Upload-Offset": "0", "Upload-Checksum": f"sha256 {base64.b64encode(b'0' * 32).decode()}"})
    assert bad.status_code == 460 and bad.json()["error"]["code"] == "checksum_mismatch"
    assert await offset_of(client, location) == 0
    unknown = await client.patch(location, content=b"abcd", headers={**OCTETS, "Upload-Offset": "0",
                                                                    "Upload-Checksum": "md5 AAAA"})
    assert unknown.status_code == 400
    for piece, offset, algorithm in ((b"abcd", 0, "sha1"), (b"efgh", 4, "sha256")):
        digest = base64.b64encode(hashlib.new(algorithm, piece).digest()).decode()
        good = await client.patch(location, content=piece, headers={
            **OCTETS, "Upload-Offset": str(offset), "Upload-Checksum": f"{algorithm} {digest}"})
        assert good.status_code == 204
    file_id = good.headers["Anclora-File-Id"]
    assert (await client.get(f"/api/files/{file_id}/content")).content == b"abcdefgh"


async def test_a_refused_first_piece_still_names_the_upload(client):
    response = await client.post("/api/uploads/", content=b"abcd", headers={
        **OCTETS, "Upload-Length": "8", "Upload-Checksum": f"sha256 {base64.b64encode(b'0' * 32).decode()}"})
    assert response.status_code == 460 and response.json()["error"]["code"] == "checksum_mismatch"
    location = response.headers["Location"]
    assert await offset_of(client, location) == 0
    rest = await client.patch(location, content=b"abcdefgh", headers={**OCTETS, "Upload-Offset": "0"})
    assert rest.status_code == 204 and rest.headers["Anclora-File-Id"]


async def test_a_cut_upload_resumes_from_what_the_server_kept(client, anclora_server, anclora_ctx):
    body = os.urandom(2 * 1024 * 1024)
    location = await create(client, len(body))
    session = client.cookies.get("anclora_session")
    reader, writer = await open_connection(anclora_server)
    writer.write(request_head("PATCH", location, {
        **OCTETS, "Upload-Offset": "0", "Content-Length": str(len(body)), "X-Anclora-Session": session}))
    writer.write(body[:1024 * 1024])
    await writer.drain()
    await eventually(lambda: bytes_received(anclora_ctx) > 0)
    writer.transport.abort()  # the connection drops mid-body

    async def kept() -> int:
        response = await client.head(location, headers=TUS)
        return int(response.headers["Upload-Offset"]) if response.headers.get("Upload-Offset", "0") != "0" else 0
    await eventually(kept)
    offset = await kept()
    assert 0 < offset <= 1024 * 1024
    rest = await client.patch(location, content=body[offset:], headers={**OCTETS, "Upload-Offset": str(offset)})
    assert rest.status_code == 204
    file_id = rest.headers["Anclora-File-Id"]
    assert (await client.get(f"/api/files/{file_id}/content")).content == body
    assert (await client.get(f"/api/files/{file_id}")).json()["sha256"] == hashlib.sha256(body).hexdigest()


async def test_pieces_sent_to_different_processes_still_get_the_right_sha256(client, anclora_ctx):
    body = os.urandom(100_000)
    location = await create(client, len(body))
    await client.patch(location, content=body[:40_000], headers={**OCTETS, "Upload-Offset": "0"})
    anclora_ctx.state("tus")[resumable.HASHES].clear()  # as if the next piece went to another server process
    last = await client.patch(location, content=body[40_000:], headers={**OCTETS, "Upload-Offset": "40000"})
    record = (await client.get(f"/api/files/{last.headers['Anclora-File-Id']}")).json()
    assert record["sha256"] == hashlib.sha256(body).hexdigest()


async def test_one_request_appends_at_a_time(client, anclora_server, anclora_ctx):
    location = await create(client, 200_000)
    reader, writer = await open_connection(anclora_server)
    writer.write(request_head("PATCH", location, {
        **OCTETS, "Upload-Offset": "0", "Content-Length": "200000",
        "X-Anclora-Session": client.cookies.get("anclora_session")}))
    writer.write(b"a" * 50_000)
    await writer.drain()
    await eventually(lambda: bytes_received(anclora_ctx) > 0)
    second = await client.patch(location, content=b"b" * 10, headers={**OCTETS, "Upload-Offset": "0"})
    assert second.status_code == 409
    assert (await client.delete(location, headers=TUS)).status_code == 409  # not while it is being written
    writer.write(b"a" * 150_000)
    await writer.drain()
    status, headers, _ = await read_response(reader)
    writer.close()
    assert status == 204 and headers["upload-offset"] == "200000" and headers["anclora-file-id"]


async def test_termination_removes_the_upload_and_its_bytes(client, anclora_ctx):
    location = await create(client, 100)
    await client.patch(location, content=b"z" * 40, headers={**OCTETS, "Upload-Offset": "0"})
    upload_id = location.rsplit("/", 1)[1]
    assert await held(anclora_ctx, upload_id) == 40
    assert (await client.delete(location, headers=TUS)).status_code == 204
    assert (await client.head(location, headers=TUS)).status_code == 404
    assert await held(anclora_ctx, upload_id) is None


async def test_someone_elses_signed_in_upload_is_404(client, anclora_server):
    """A signed-in user's upload stays bound to that user: its URL alone reaches nothing."""
    registered = await client.post("/api/auth/register", json={"email": "tus-owner@example.org",
                                                               "password": "correct horse battery staple"})
    client.headers["Authorization"] = f"Bearer {registered.json()['access_token']}"
    location = await create(client, 10)
    async with httpx.AsyncClient(base_url=anclora_server) as stranger:
        assert (await stranger.head(location, headers=TUS)).status_code == 404
        assert (await stranger.get(location)).status_code == 404
        patch = await stranger.patch(location, content=b"x", headers={**OCTETS, "Upload-Offset": "0"})
        assert patch.status_code == 404
        assert (await stranger.delete(location, headers=TUS)).status_code == 404
    # (a new connection: the server closes idle ones after idle_timeout, 1 s here, and the stranger took a while)
    async with httpx.AsyncClient(base_url=anclora_server, headers=client.headers) as owner:
        assert await offset_of(owner, location) == 0


async def test_expired_uploads_vanish_and_cleanup_removes_their_bytes(client, anclora_ctx):
    location = await create(client, 100)
    await client.patch(location, content=b"q" * 10, headers={**OCTETS, "Upload-Offset": "0"})
    upload_id = location.rsplit("/", 1)[1]
    async with anclora_ctx.sessionmaker() as session:
        await session.execute(update(ResumableUpload).where(ResumableUpload.id == upload_id)
                              .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        await session.commit()
    assert (await client.head(location, headers=TUS)).status_code == 404
    assert await held(anclora_ctx, upload_id) == 10
    assert await resumable.cleanup(anclora_ctx) == 1
    assert await held(anclora_ctx, upload_id) is None
