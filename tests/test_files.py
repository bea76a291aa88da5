"""Streaming uploads and the files API, as a client sees them."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time

import pytest
from sqlalchemy import func, select

from anclora.db.models import File
from anclora.db.owned import get_owned
from rawhttp import eventually, open_connection, read_response, request_head, wait_closed_by_peer
from storage_state import leftovers, nothing_left, overwrite_object, remove_object, stored_keys

pytestmark = pytest.mark.storage_backends

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4f50000000049454e44ae426082")


@pytest.fixture
def anclora_overrides():
    return {"idle_timeout": 1.0, "max_content_length": 2 * 1024 * 1024}


async def count_files(ctx) -> int:
    async with ctx.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(File))


async def test_raw_upload_returns_size_and_sha256_and_downloads_identical(client):
    body = os.urandom(1024 * 1024 + 7)
    response = await client.post("/api/files", params={"filename": "data.bin"}, content=body)
    assert response.status_code == 201
    created = response.json()
    assert created["size"] == len(body)
    assert created["sha256"] == hashlib.sha256(body).hexdigest()
    assert created["filename"] == "data.bin"
    assert response.headers["Location"] == f"/api/files/{created['id']}"
    session = response.headers["X-Anclora-Session"]

    download = await client.get(f"/api/files/{created['id']}/content", headers={"X-Anclora-Session": session})
    assert download.status_code == 200
    assert download.content == body
    assert download.headers["ETag"] == f'"{created["sha256"]}"'
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]


async def test_multipart_upload_streams_the_file_part(client):
    body = os.urandom(300_000)
    response = await client.post("/api/files", files={"file": ("report.pdf", body, "application/pdf")},
                                 data={"note": "ignored"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["size"], created["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    assert created["filename"] == "report.pdf"
    # the bytes are not a PDF, so the stored type does not claim to be one
    assert created["content_type"] != "application/pdf"


async def test_chunked_multipart_with_tiny_chunks(client):
    body = os.urandom(50_000)
    boundary = "b0undary"
    payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n"
               f"Content-Type: application/octet-stream\r\n\r\n").encode() + body + f"\r\n--{boundary}--\r\n".encode()

    async def tiny_chunks():
        for i in range(0, len(payload), 7):
            yield payload[i:i + 7]

    response = await client.post("/api/files", content=tiny_chunks(),
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()


async def test_multipart_without_file_part_is_400(client, anclora_ctx):
    response = await client.post("/api/files", data={"other": "x"}, files={"notfile": ("a", b"abc")})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert await count_files(anclora_ctx) == 0 and not await stored_keys(anclora_ctx)
    await eventually(lambda: nothing_left(anclora_ctx))


async def test_type_is_sniffed_from_bytes_not_name(client):
    response = await client.post("/api/files", params={"filename": "innocent.pdf"}, content=PNG_1PX,
                                 headers={"Content-Type": "application/pdf"})
    assert response.json()["content_type"] == "image/png"
    assert response.json()["format"] == "png"


async def test_range_requests_resume_a_download(client):
    body = os.urandom(100_000)
    created = (await client.post("/api/files", content=body)).json()
    url = f"/api/files/{created['id']}/content"
    part = await client.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.content == body[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(body)}"
    tail = await client.get(url, headers={"Range": "bytes=-10"})
    assert tail.content == body[-10:]
    rest = await client.get(url, headers={"Range": "bytes=99990-"})
    assert rest.content == body[99990:]
    bad = await client.get(url, headers={"Range": "bytes=200000-"})
    assert bad.status_code == 416
    assert bad.json()["error"]["code"] == "range_not_satisfiable"
    cached = await client.get(url, headers={"If-None-Match": created and f'"{created["sha256"]}"'})
    assert cached.status_code == 304


async def test_list_metadata_and_delete(client, anclora_ctx):
    first = (await client.post("/api/files", params={"filename": "a.txt"}, content=b"alpha")).json()
    second = (await client.post("/api/files", params={"filename": "b.txt"}, content=b"beta")).json()
    listing = (await client.get("/api/files")).json()["files"]
    assert {f["id"] for f in listing} == {first["id"], second["id"]}
    meta = await client.get(f"/api/files/{first['id']}")
    assert meta.json()["filename"] == "a.txt"
    assert meta.json()["expires_at"].endswith("Z")

    deleted = await client.delete(f"/api/files/{first['id']}")
    assert deleted.status_code == 204
    assert (await client.get(f"/api/files/{first['id']}")).status_code == 404
    assert await count_files(anclora_ctx) == 1
    assert len(await stored_keys(anclora_ctx)) == 1


async def test_someone_elses_file_is_404_without_oracle(client, anclora_server):
    import httpx

    mine = (await client.post("/api/files", content=b"secret")).json()
    async with httpx.AsyncClient(base_url=anclora_server) as stranger:
        for path in (f"/api/files/{mine['id']}", f"/api/files/{mine['id']}/content"):
            theirs = await stranger.get(path)
            missing = await stranger.get(path.replace(mine["id"][:8], "00000000"))
            assert theirs.status_code == missing.status_code == 404
            assert theirs.json() == missing.json()
        assert (await stranger.delete(f"/api/files/{mine['id']}")).status_code == 404
        assert (await stranger.get("/api/files")).json()["files"] == []
    assert (await client.get(f"/api/files/{mine['id']}")).status_code == 200


async def test_session_header_carries_ownership_without_cookies(anclora_server):
    import httpx

    async with httpx.AsyncClient(base_url=anclora_server) as first:
        created = await first.post("/api/files", content=b"abc")
        token = created.headers["X-Anclora-Session"]
    async with httpx.AsyncClient(base_url=anclora_server) as second:
        found = await second.get(f"/api/files/{created.json()['id']}", headers={"X-Anclora-Session": token})
        assert found.status_code == 200


HOSTILE_NAMES = ["../../etc/passwd", "a\x00b.txt", "evil\r\nSet-Cookie: x=1.txt", "photo\u202egnp.exe", "..",
                 "C:\\Windows\\system32\\cmd.exe"]


@pytest.mark.parametrize("hostile", HOSTILE_NAMES)
async def test_hostile_filenames_are_sanitised(client, anclora_ctx, hostile):
    response = await client.post("/api/files", params={"filename": hostile}, content=b"x")
    assert response.status_code == 201
    name = response.json()["filename"]
    assert name and name not in (".", "..")
    assert not any(c in name for c in "/\\\x00\r\n\u202e")
    download = await client.get(f"/api/files/{response.json()['id']}/content")
    assert "\r" not in download.headers["Content-Disposition"]
    # storage paths are generated, never the user's name
    assert all(len(key) == 35 for key in await stored_keys(anclora_ctx))


@pytest.mark.parametrize("hostile, expected", [
    ("../../etc/passwd", "passwd"),
    ("a\x00b.txt", "a_b.txt"),
    ("evil\r\nSet-Cookie: x=1.txt", "evil__Set-Cookie_ x=1.txt"),
    ("photo\u202egnp.exe", "photo_gnp.exe"),
    ("..", "file"),
    ("C:\\Windows\\system32\\cmd.exe", "cmd.exe"),
])
def test_sanitize_filename(hostile, expected):
    from anclora.uploads.plain import sanitize_filename

    assert sanitize_filename(hostile) == expected


async def test_multipart_filename_with_path_is_sanitised(client):
    response = await client.post("/api/files", files={"file": ("../../../root/.ssh/authorized_keys", b"x")})
    assert response.json()["filename"] == "authorized_keys"


async def test_long_filename_is_cut_keeping_extension(client):
    # (1,000 characters: a request line stays under 8 KiB, see anclora/request_head.py)
    response = await client.post("/api/files", params={"filename": "é" * 1000 + ".txt"}, content=b"x")
    name = response.json()["filename"]
    assert name.endswith(".txt") and len(name.encode()) <= 200


async def test_unicode_filename_round_trips_in_content_disposition(client):
    created = (await client.post("/api/files", params={"filename": "informe año 😀.txt"}, content=b"x")).json()
    download = await client.get(f"/api/files/{created['id']}/content")
    assert "filename*=UTF-8''informe%20a%C3%B1o%20%F0%9F%98%80.txt" in download.headers["Content-Disposition"]


async def test_declared_oversize_gets_413_at_once_without_continue(anclora_server, anclora_ctx):
    reader, writer = await open_connection(anclora_server)
    started = time.monotonic()
    writer.write(request_head("POST", "/api/files", {
        "Content-Length": str(2 * 1024 * 1024 + 1), "Expect": "100-continue"}))
    await writer.drain()
    status, headers, body = await read_response(reader)
    elapsed = time.monotonic() - started
    writer.close()
    assert status == 413
    assert b'"payload_too_large"' in body
    assert elapsed < 1.0
    assert await count_files(anclora_ctx) == 0 and await nothing_left(anclora_ctx)


async def test_undeclared_body_is_cut_when_it_crosses_the_limit(anclora_server, anclora_ctx):
    reader, writer = await open_connection(anclora_server)
    answer = asyncio.ensure_future(read_response(reader))
    writer.write(request_head("POST", "/api/files", {"Transfer-Encoding": "chunked"}))
    chunk = os.urandom(256 * 1024)
    sent = 0
    while not answer.done() and sent < 10 * 1024 * 1024:  # give up at five times the limit
        try:
            writer.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            await writer.drain()
        except ConnectionError:
            break
        sent += len(chunk)
    status, _, body = await answer
    writer.close()
    assert status == 413 and b"payload_too_large" in body
    assert sent < 10 * 1024 * 1024  # answered while the client was still sending
    await eventually(lambda: nothing_left(anclora_ctx))
    assert await count_files(anclora_ctx) == 0 and not await stored_keys(anclora_ctx)


async def test_upload_aborted_half_way_leaves_nothing(anclora_server, anclora_ctx):
    reader, writer = await open_connection(anclora_server)
    writer.write(request_head("POST", "/api/files", {"Content-Length": str(1024 * 1024)}))
    writer.write(os.urandom(512 * 1024))
    await writer.drain()
    await eventually(lambda: leftovers(anclora_ctx))  # the server is writing it
    writer.transport.abort()  # reset, mid-body
    await eventually(lambda: nothing_left(anclora_ctx))
    assert await count_files(anclora_ctx) == 0 and not await stored_keys(anclora_ctx)


async def test_stalled_upload_is_answered_408_and_dropped_after_the_idle_timeout(anclora_server, anclora_ctx):
    reader, writer = await open_connection(anclora_server)
    started = time.monotonic()
    writer.write(request_head("POST", "/api/files", {"Content-Length": "100000"}))
    writer.write(b"x" * 1000)
    await writer.drain()
    status, _, body = await read_response(reader)  # the client stalls its sending, but still reads
    assert status == 408 and b'"request_timeout"' in body
    await wait_closed_by_peer(reader, timeout=10)
    waited = time.monotonic() - started
    writer.close()
    assert 0.5 <= waited < 5  # idle_timeout is 1 s in this module
    await eventually(lambda: nothing_left(anclora_ctx))
    assert await count_files(anclora_ctx) == 0 and not await stored_keys(anclora_ctx)


async def test_slow_headers_are_dropped(anclora_server):
    reader, writer = await open_connection(anclora_server)
    writer.write(b"POST /api/files HTTP/1.1\r\nHost: test\r\n")  # never finishes the headers
    await writer.drain()
    waited = await wait_closed_by_peer(reader, timeout=10)
    writer.close()
    assert waited < 5


async def test_expired_files_vanish_from_the_api_and_cleanup_removes_them(client, anclora_ctx):
    import datetime as dt

    from anclora import files
    from anclora.db.base import utcnow

    created = (await client.post("/api/files", content=b"old")).json()
    kept = (await client.post("/api/files", content=b"new")).json()
    async with anclora_ctx.sessionmaker() as session:
        record = await session.get(File, created["id"])
        record.expires_at = utcnow() - dt.timedelta(seconds=1)
        await session.commit()
    assert (await client.get(f"/api/files/{created['id']}")).status_code == 404
    assert [f["id"] for f in (await client.get("/api/files")).json()["files"]] == [kept["id"]]

    report = await files.cleanup(anclora_ctx)
    assert report["expired"] == 1
    assert await count_files(anclora_ctx) == 1
    assert len(await stored_keys(anclora_ctx)) == 1


async def test_cleanup_removes_orphans_in_both_directions(client, anclora_ctx):
    import datetime as dt

    from anclora import files
    from anclora.db.base import utcnow

    created = (await client.post("/api/files", content=b"row without object")).json()
    record_key = (await get_owned(anclora_ctx, File, await owner_of(anclora_ctx, created["id"]),
                                created["id"])).storage_key
    await remove_object(anclora_ctx, record_key)
    writer = anclora_ctx.storage.writer()
    writer.write(b"object without row")
    await writer.commit()

    report = await files.cleanup(anclora_ctx)  # the orphan is too young: it may belong to a request in flight
    assert report["missing_objects"] == 1 and report["orphan_objects"] == 0
    later = utcnow() + dt.timedelta(seconds=2 * files.ORPHAN_GRACE_SECONDS)
    report = await files.cleanup(anclora_ctx, now=later)
    assert report["orphan_objects"] == 1
    assert await count_files(anclora_ctx) == 0 and not await stored_keys(anclora_ctx)


async def test_verify_reports_changed_bytes(client, anclora_ctx):
    from anclora import files

    created = (await client.post("/api/files", content=b"original")).json()
    assert await files.verify(anclora_ctx) == []
    record = await get_owned(anclora_ctx, File, await owner_of(anclora_ctx, created["id"]), created["id"])
    await overwrite_object(anclora_ctx, record.storage_key, b"tampered")
    problems = await files.verify(anclora_ctx)
    assert [(p["id"], p["problem"]) for p in problems] == [(created["id"], "mismatch")]


async def owner_of(ctx, file_id: str):
    """The identity that owns a file, to reach the service layer as its owner."""
    from anclora.identity import Identity

    async with ctx.sessionmaker() as session:
        record = await session.get(File, file_id)
    return Identity(address="127.0.0.1", session_id=record.session_id)
