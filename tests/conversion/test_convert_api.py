"""POST /api/convert: one request in, converted bytes out, through the same executor as queued jobs."""

import asyncio

import pytest

from sample_plugins import sample_overrides
from storage_state import stored_keys

pytestmark = pytest.mark.storage_backends


@pytest.fixture
def anclora_overrides():
    return {**sample_overrides(), "sync_timeout": 1.0}


async def test_one_shot_returns_the_converted_bytes(client, anclora_ctx):
    response = await client.post("/api/convert?to=md&filename=hi.txt&repeat=2&exclaim=true&cache=false",
                                 content=b"hi ")
    assert response.status_code == 200, response.text
    assert response.content == b"HI HI !"
    assert response.headers["content-disposition"].startswith('attachment; filename="hi.md"')
    listed = (await client.get("/api/conversions")).json()["conversions"]
    assert [c["status"] for c in listed] == ["succeeded"] and listed[0]["options"] == {"repeat": 2, "exclaim": True}
    assert (await client.get("/api/files")).json()["files"] == []  # nothing kept once the bytes are sent
    # (without cache=false, the result is kept hidden for the result cache: tests/jobs/test_result_cache.py)
    deadline = asyncio.get_running_loop().time() + 10
    while await stored_keys(anclora_ctx):  # the bytes go right after they are sent
        assert asyncio.get_running_loop().time() < deadline, "the one-shot result's bytes were kept"
        await asyncio.sleep(0.05)


async def test_one_shot_chain(client):
    response = await client.post("/api/convert?to=html&filename=a.txt", content=b"x")
    assert response.content == b"<!doctype html><title></title><pre>X</pre>"


async def test_bad_options_and_unknown_targets(client):
    response = await client.post("/api/convert?to=md&filename=a.txt&repeat=lots", content=b"x")
    assert response.status_code == 400 and response.json()["error"]["details"][0]["path"] == "repeat"
    response = await client.post("/api/convert?to=xyz&filename=a.txt", content=b"x")
    assert response.status_code == 422 and response.json()["error"]["code"] == "unsupported_conversion"
    response = await client.post("/api/convert?filename=a.txt", content=b"x")
    assert response.status_code == 400


async def test_one_shot_trusts_the_bytes_not_the_name(client):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    response = await client.post("/api/convert?to=md&filename=letter.txt", content=png)
    assert response.status_code == 422
    assert response.json()["error"]["details"] == {"from": "png", "to": "md"}


async def test_failed_conversion_is_422(client):
    response = await client.post("/api/convert?to=json&filename=a.yaml", content=b"a: 1\n")
    assert response.status_code == 422
    assert response.json()["error"] == {"code": "conversion_failed", "message": "this yaml is not acceptable"}


async def test_sync_timeout_is_504_and_the_job_is_canceled(client, anclora_ctx):
    response = await client.post("/api/convert?to=json&filename=rows.csv", content=b"a,b\n")
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "conversion_timeout"
    [job] = (await client.get("/api/conversions")).json()["conversions"]
    assert job["status"] == "canceled"
    sample = anclora_ctx.pm.get_plugin("sample_converters")
    assert len(sample.PIDS) == 2
    deadline = asyncio.get_running_loop().time() + 5  # SIGKILL is delivered asynchronously
    while any(alive(pid) for pid in sample.PIDS):
        assert asyncio.get_running_loop().time() < deadline, "an engine process survived the timeout"
        await asyncio.sleep(0.02)


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
