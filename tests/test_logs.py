"""Logs carry the request id, as text or JSON lines; client addresses come from trusted proxies only."""

import json

import httpx

from anclora.identity import client_address
from server_process import ServerProcess


async def test_json_log_lines_carry_the_request_id(tmp_path, anclora_database_url, anclora_storage_environ):
    server = ServerProcess(tmp_path, anclora_database_url, ANCLORA_LOG_FORMAT="json", **anclora_storage_environ)
    server.wait_ready()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            await http.post("/api/files", content=b"x", headers={"X-Request-Id": "trace-42"})
    finally:
        server.stop()
    records = [json.loads(line) for line in server.log.read_text().splitlines()]
    access = [r for r in records if r["logger"] == "anclora.access" and "/api/files" in r["message"]]
    assert access and access[0]["request_id"] == "trace-42"
    assert access[0]["message"].startswith("POST /api/files 201")


def test_forwarded_addresses_are_trusted_only_from_configured_proxies():
    headers = {"X-Forwarded-For": "203.0.113.9, 198.51.100.7", "X-Real-IP": "198.51.100.7"}
    assert client_address("192.0.2.1", headers, trusted_proxies=[]) == "192.0.2.1"
    assert client_address("127.0.0.1", headers, trusted_proxies=["127.0.0.1"]) == "198.51.100.7"
    assert client_address("127.0.0.1", {"X-Real-IP": "not an address"}, ["127.0.0.1"]) == "127.0.0.1"
