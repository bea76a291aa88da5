"""The S3 backend's own promises, against moto's S3 server: files of several parts streamed in and out (with
Range), multipart uploads aborted when an upload fails or is left behind, tus pieces across parts and processes,
and /api/health naming and checking the bucket."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import pytest

from anclora import files
from anclora.db.base import utcnow
from anclora.db.models import File
from anclora.uploads import tus as resumable
from rawhttp import eventually, open_connection, request_head
from storage_state import bytes_received, held, multipart_uploads, nothing_left, stored_keys

MiB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}


@pytest.fixture
def anclora_storage() -> str:
    return "s3"


@pytest.fixture
def anclora_overrides():
    return {"s3_part_size": 5 * MiB, "max_content_length": 64 * MiB, "idle_timeout": 2.0}


async def checksums(ctx, key: str) -> list[str]:
    """The checksums the bucket keeps of an object."""
    stored = await ctx.storage.s3.call("head_object", Key=ctx.storage.object_name(key), ChecksumMode="ENABLED")
    return sorted(name for name in stored if name.startswith("Checksum") and name != "ChecksumType")


async def test_a_file_of_several_parts_streams_in_and_out_by_range(client, anclora_ctx):
    body = os.urandom(12 * MiB + 3)
    created = await client.post("/api/files", content=body)
    assert created.status_code == 201 and created.json()["sha256"] == hashlib.sha256(body).hexdigest()
    [key] = await stored_keys(anclora_ctx)
    stored = anclora_ctx.storage.s3.client.head_object(Bucket=anclora_ctx.storage.s3.bucket,
                                                       Key=anclora_ctx.storage.object_name(key))
    assert stored["ContentLength"] == len(body) and stored["ETag"].endswith('-3"')  # three parts of 5 MiB at most
    assert await checksums(anclora_ctx, key) == ["ChecksumCRC32"]  # of the parts' CRC32s, each checked by S3
    assert await multipart_uploads(anclora_ctx) == [] and await nothing_left(anclora_ctx)

    content = f"/api/files/{created.json()['id']}/content"
    across = await client.get(content, headers={"Range": f"bytes={5 * MiB - 10}-{5 * MiB + 9}"})
    assert across.status_code == 206 and across.content == body[5 * MiB - 10:5 * MiB + 10]
    assert across.headers["Content-Range"] == f"bytes {5 * MiB - 10}-{5 * MiB + 9}/{len(body)}"
    tail = await client.get(content, headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == body[-5:]
    assert (await client.get(content)).content == body


async def test_an_upload_cut_mid_way_aborts_its_multipart_upload(anclora_server, anclora_ctx):
    reader, writer = await open_connection(anclora_server)
    writer.write(request_head("POST", "/api/files", {"Content-Length": str(20 * MiB)}))
    for _ in range(11):
        writer.write(os.urandom(MiB))
        await writer.drain()
    await eventually(lambda: multipart_uploads(anclora_ctx))  # parts are on their way to the bucket
    writer.transport.abort()
    await eventually(lambda: nothing_left(anclora_ctx))  # aborted: no parts left in the bucket, no buffer here
    assert await multipart_uploads(anclora_ctx) == [] and await stored_keys(anclora_ctx) == []
    assert await files.list_owned(anclora_ctx, _anyone()) == []


async def test_cleanup_aborts_a_stale_multipart_upload_and_keeps_a_resumable_one(client, anclora_ctx):
    storage = anclora_ctx.storage
    name = storage.object_name(storage.new_key())  # what a process killed mid-upload leaves in the bucket
    upload_id = await storage.start_multipart(name)
    await storage.s3.call("upload_part", Key=name, UploadId=upload_id, PartNumber=1, Body=b"x" * (5 * MiB))
    location = (await client.post("/api/uploads/", headers={**TUS, "Upload-Length": "100"})).headers["Location"]
    await client.patch(location, content=b"k" * 10, headers={**OCTETS, "Upload-Offset": "0"})

    # (moto reports every multipart upload as started in 2010, so a young one cannot be told apart here; real
    # servers report when it started, and cleanup leaves those younger than the grace period alone)
    later = utcnow() + dt.timedelta(seconds=2 * files.ORPHAN_GRACE_SECONDS)
    assert (await files.cleanup(anclora_ctx, now=later))["stale_partials"] == 1
    upload = location.rsplit("/", 1)[1]
    assert await multipart_uploads(anclora_ctx) == [storage.object_name(storage.part_key(upload))]
    assert await held(anclora_ctx, upload) == 10  # the resumable upload is whole
    finished = await client.patch(location, content=b"k" * 90, headers={**OCTETS, "Upload-Offset": "10"})
    assert finished.status_code == 204
    assert (await client.get(f"/api/files/{finished.headers['Anclora-File-Id']}/content")).content == b"k" * 100


async def test_tus_pieces_map_onto_parts_whichever_process_takes_them(client, anclora_server, anclora_ctx):
    body = os.urandom(12 * MiB + 5)
    created = await client.post("/api/uploads/", headers={**TUS, "Upload-Length": str(len(body))})
    location, upload = created.headers["Location"], created.headers["Location"].rsplit("/", 1)[1]
    offset = 0
    for size in (3 * MiB, 4 * MiB, 1):  # within part 1, across into part 2, one byte
        anclora_ctx.state("tus").get(resumable.HASHES, {}).clear()  # as if each piece went to another process
        answer = await client.patch(location, content=body[offset:offset + size],
                                    headers={**OCTETS, "Upload-Offset": str(offset)})
        offset += size
        assert answer.status_code == 204 and answer.headers["Upload-Offset"] == str(offset)

    before = bytes_received(anclora_ctx)
    reader, writer = await open_connection(anclora_server)  # a piece cut off half-way
    writer.write(request_head("PATCH", location, {**OCTETS, "Upload-Offset": str(offset),
                                                  "Content-Length": str(len(body) - offset),
                                                  "X-Anclora-Session": client.cookies.get("anclora_session")}))
    writer.write(body[offset:offset + 2 * MiB])
    await writer.drain()
    await eventually(lambda: bytes_received(anclora_ctx) > before)
    writer.transport.abort()

    async def kept() -> int:
        return int((await client.head(location, headers=TUS)).headers["Upload-Offset"])
    await eventually(lambda: _more(kept(), offset))
    offset = await kept()
    last = await client.patch(location, content=body[offset:], headers={**OCTETS, "Upload-Offset": str(offset)})
    assert last.status_code == 204
    record = (await client.get(f"/api/files/{last.headers['Anclora-File-Id']}")).json()
    assert record["sha256"] == hashlib.sha256(body).hexdigest() and record["size"] == len(body)
    assert (await client.get(f"/api/files/{record['id']}/content")).content == body
    assert await held(anclora_ctx, upload) is None and await multipart_uploads(anclora_ctx) == []
    [key] = await stored_keys(anclora_ctx)
    assert await checksums(anclora_ctx, key) == ["ChecksumCRC32"]


async def test_health_names_the_backend_and_checks_the_bucket(client, anclora_ctx):
    report = (await client.get("/api/health")).json()
    assert report["checks"]["storage"] == {"status": "up", "backend": "s3"}
    anclora_ctx.storage.s3.client.delete_bucket(Bucket=anclora_ctx.storage.s3.bucket)

    async def down() -> bool:
        answer = await client.get("/api/health")
        return answer.status_code == 503 and answer.json()["checks"]["storage"]["status"] == "down"
    await eventually(down)


async def _more(value, than: int) -> bool:
    return await value > than


def _anyone():
    from anclora.identity import Identity

    return Identity(address="127.0.0.1", session_id="nobody")


@pytest.mark.parametrize("name, value", [("storage_url", "s3:///prefix"), ("storage_url", "ftp://host/x"),
                                         ("s3_part_size", str(4 * MiB))])
def test_a_bad_storage_setting_stops_the_start_naming_it(name, value):
    from anclora import config
    from anclora.errors import ConfigError

    with pytest.raises(ConfigError, match=name):
        config.load(environ={f"ANCLORA_{name.upper()}": value}, dotenv=None)


async def test_the_commands_verify_and_clean_up_the_bucket_named_by_the_environment(client, anclora_ctx,
                                                                                   anclora_settings):
    import asyncio
    import json
    import sys

    from anclora.testing import TEST_JWT_SECRET
    from storage_state import overwrite_object

    kept = (await client.post("/api/files", content=b"kept as it was")).json()
    changed = (await client.post("/api/files", content=b"changed later")).json()
    async with anclora_ctx.sessionmaker() as session:
        record = await session.get(File, changed["id"])
    await overwrite_object(anclora_ctx, record.storage_key, b"changed behind the server's back")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": anclora_settings.database_url,
           "ANCLORA_STORAGE_URL": anclora_settings.storage_url,
           "ANCLORA_S3_ENDPOINT_URL": anclora_settings.s3_endpoint_url, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
           "UPLOAD_FOLDER": anclora_settings.upload_folder, "JWT_SECRET_KEY": TEST_JWT_SECRET,
           "ANCLORA_PLUGINS_ENTRYPOINTS": "false", "LOG_LEVEL": "WARNING"}

    async def run(command: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "anclora", command, env=env,
                                                       stdout=asyncio.subprocess.PIPE)
        out, _ = await process.communicate()
        return process.returncode, out.decode()
    status, out = await run("verify")
    assert status == 1 and [json.loads(line)["id"] for line in out.splitlines()] == [changed["id"]]
    status, out = await run("cleanup")
    assert status == 0 and json.loads(out)["expired"] == 0
    assert (await client.get(f"/api/files/{kept['id']}/content")).content == b"kept as it was"



async def test_a_tus_upload_begun_on_one_node_is_finished_on_another(client, anclora_settings, tmp_path):
    """Two servers on one database and one bucket, each with a scratch folder of its own: the upload's state is in
    the database and the bucket, not in the process that began it."""
    import socket

    import httpx
    import tornado.netutil

    from anclora.server import build_context, close, make_http_server, start

    other = build_context(anclora_settings.replace(upload_folder=str(tmp_path / "second-node")))
    await start(other)
    server = make_http_server(other)
    [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets([sock])
    try:
        body = os.urandom(7 * MiB + 3)
        created = await client.post("/api/uploads/", headers={**TUS, "Upload-Length": str(len(body))})
        location = created.headers["Location"]
        first = await client.patch(location, content=body[:6 * MiB], headers={**OCTETS, "Upload-Offset": "0"})
        assert first.status_code == 204
        session = {"X-Anclora-Session": client.cookies.get("anclora_session")}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", headers=session) as second:
            assert (await second.head(location, headers=TUS)).headers["Upload-Offset"] == str(6 * MiB)
            last = await second.patch(location, content=body[6 * MiB:],
                                      headers={**OCTETS, "Upload-Offset": str(6 * MiB)})
            assert last.status_code == 204
            file_id = last.headers["Anclora-File-Id"]
            assert (await second.get(f"/api/files/{file_id}")).json()["sha256"] == hashlib.sha256(body).hexdigest()
        assert (await client.get(f"/api/files/{file_id}/content")).content == body
    finally:
        server.stop()
        await server.close_all_connections()
        await close(other)
