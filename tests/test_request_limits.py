"""Abusive request heads and stalled bodies get an answer a client can read: 431 JSON for an oversized request
line or header fields, 408 JSON when a body stops arriving, each logged once, without a traceback."""

import json
import logging

import pytest
from rawhttp import open_connection, read_response, request_head, wait_closed_by_peer


@pytest.fixture
def anclora_overrides():
    return {"idle_timeout": 1.0, "log_level": "INFO"}


async def send_head(server: str, head: bytes) -> tuple[int, dict, dict]:
    reader, writer = await open_connection(server)
    writer.write(head)
    await writer.drain()
    status, headers, body = await read_response(reader)
    writer.close()
    return status, headers, json.loads(body)


def refusals(caplog, status: int) -> list[logging.LogRecord]:
    assert not any(record.exc_info for record in caplog.records), "a traceback reached the log"
    return [r for r in caplog.records if r.name.startswith("anclora") and r.name != "anclora.access"
            and f"-> {status}" in r.getMessage()]


@pytest.mark.parametrize("headers", [
    {"X-Padding": "p" * 64 * 1024},                               # 64 KB in one field
    {f"X-Field-{number}": "v" * 60 for number in range(1000)},   # 1,000 fields
], ids=["64KB", "1000-fields"])
async def test_oversized_headers_get_431_json(anclora_server, caplog, headers):
    caplog.set_level(logging.INFO)
    status, answered, body = await send_head(anclora_server, request_head("GET", "/api/files", headers))
    assert status == 431 and body["error"]["code"] == "headers_too_large"
    assert answered["connection"] == "close"
    assert len(refusals(caplog, 431)) == 1


async def test_an_oversized_request_line_gets_431_json(anclora_server, client, caplog):
    caplog.set_level(logging.INFO)
    status, _, body = await send_head(anclora_server, request_head("GET", "/api/files?x=" + "a" * 10_000, {}))
    assert status == 431 and "request line" in body["error"]["message"]
    assert len(refusals(caplog, 431)) == 1
    assert (await client.get("/api/files")).status_code == 200  # everyone else is served as before


async def test_a_stalled_json_body_is_answered_408(anclora_server, client, caplog):
    caplog.set_level(logging.INFO)
    reader, writer = await open_connection(anclora_server)
    writer.write(request_head("POST", "/api/auth/login", {"Content-Length": "100",
                                                          "Content-Type": "application/json"}) + b'{"email": ')
    await writer.drain()
    status, _, body = await read_response(reader)  # the client stalls its sending, but still reads
    await wait_closed_by_peer(reader, timeout=10)
    writer.close()
    assert status == 408 and json.loads(body)["error"]["code"] == "request_timeout"
    assert len(refusals(caplog, 408)) == 1
    assert (await client.post("/api/auth/login", json={"email": "a@example.org", "password": "x" * 12})
            ).status_code == 401  # a complete body is answered as before


async def test_a_stalled_resumable_upload_is_answered_408_and_keeps_what_arrived(anclora_server, client, caplog):
    caplog.set_level(logging.INFO)
    tus = {"Tus-Resumable": "1.0.0"}
    location = (await client.post("/api/uploads/", headers={**tus, "Upload-Length": "5000"})).headers["Location"]
    session = client.cookies.get("anclora_session")
    reader, writer = await open_connection(anclora_server)
    writer.write(request_head("PATCH", location, {
        **tus, "Upload-Offset": "0", "Content-Length": "5000", "Content-Type": "application/offset+octet-stream",
        "Cookie": f"anclora_session={session}"}) + b"y" * 1000)
    await writer.drain()
    status, _, body = await read_response(reader)
    await wait_closed_by_peer(reader, timeout=10)
    writer.close()
    assert status == 408 and json.loads(body)["error"]["code"] == "request_timeout"
    assert len(refusals(caplog, 408)) == 1
    head = await client.head(location, headers=tus)
    assert head.headers["Upload-Offset"] == "1000"  # resumable from where it stalled
