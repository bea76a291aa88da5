"""Two `anclora serve` nodes and an `anclora worker` behind nginx's round-robin, no sticky sessions: whatever one
node starts, the other carries on — uploads, resumable uploads, conversions and their progress, the per-minute
upload limit — and a worker killed mid-job leaves one result and one charge."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
import uuid
from contextlib import aclosing

import httpx
import pytest
from cluster import UPLOADS_PER_MINUTE
from waiting import eventually
from sse import sse_events

from anclora.identity import new_session_token

pytestmark = [pytest.mark.backend_independent,  # its own PostgreSQL database and Redis, in either pass
              pytest.mark.asyncio(loop_scope="module")]
TUS = {"Tus-Resumable": "1.0.0"}


def anonymous(cluster) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=cluster.url, headers={"X-Anclora-Session": new_session_token()}, timeout=60)


async def signed_in(cluster, client: httpx.AsyncClient) -> dict[str, str]:
    account = {"email": f"{uuid.uuid4().hex[:10]}@example.org", "password": "long password"}
    response = await client.post("/api/auth/register", json=account)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_a_file_uploaded_through_one_node_is_read_through_the_other(cluster):
    payload = os.urandom(300_000)
    async with anonymous(cluster) as client:
        created, first = await cluster.send(client, "POST", "/api/files?filename=shared.bin", content=payload)
        assert created.status_code == 201, created.text
        file_id = created.json()["id"]
        read, second = await cluster.send(client, "GET", f"/api/files/{file_id}/content")
        assert first != second
        assert read.status_code == 200 and read.content == payload
        listed, third = await cluster.send(client, "GET", "/api/files")
        assert third == first and [f["id"] for f in listed.json()["files"]] == [file_id]


async def test_a_resumable_upload_started_on_one_node_is_finished_on_the_other(cluster):
    payload = os.urandom(200_000)
    half = len(payload) // 2
    metadata = "filename " + base64.b64encode(b"resumed.bin").decode()
    async with anonymous(cluster) as client:
        created, first = await cluster.send(client, "POST", "/api/uploads", content=payload[:half], headers={
            **TUS, "Upload-Length": str(len(payload)), "Upload-Metadata": metadata,
            "Content-Type": "application/offset+octet-stream"})
        assert created.status_code == 201, created.text
        assert created.headers["Upload-Offset"] == str(half)
        url = created.headers["Location"]
        offset, second = await cluster.send(client, "HEAD", url, headers=TUS)
        assert second != first and offset.headers["Upload-Offset"] == str(half)
        finished, third = await cluster.send(client, "PATCH", url, content=payload[half:], headers={
            **TUS, "Upload-Offset": str(half), "Content-Type": "application/offset+octet-stream"})
        assert third == first and finished.status_code == 204, finished.text
        file_id = finished.headers["Anclora-File-Id"]
        shown, fourth = await cluster.send(client, "GET", f"/api/files/{file_id}")
        assert fourth == second
        assert shown.json()["sha256"] == hashlib.sha256(payload).hexdigest()
        assert (await client.get(f"/api/files/{file_id}/content")).content == payload


async def test_a_conversion_queued_on_one_node_runs_on_the_worker_and_is_followed_on_the_other(cluster):
    token = uuid.uuid4().hex
    async with anonymous(cluster) as client:
        upload, _ = await cluster.send(client, "POST", "/api/files?filename=gated.txt", content=token.encode())
        queued, queued_on = await cluster.send(client, "POST", "/api/conversions",
                                               json={"file_id": upload.json()["id"], "to": "html"})
        assert queued.status_code == 202, queued.text
        conversion_id = queued.json()["id"]
        seen = []
        async with aclosing(sse_events(client, f"/api/conversions/{conversion_id}/events")) as events:
            async for kind, data in events:
                seen.append((kind, data["status"], data["progress"]))
                if data["status"] == "running" and data["progress"] == 50:
                    (cluster.gates / f"{token}.open").touch()  # only once the other node has shown the progress
        [(request, status, upstream)] = [line for line in cluster.nginx.answered() if "/events" in line[0]]
        assert status == 200 and cluster.node_of(upstream) != queued_on
        assert ("status", "running", 50) in seen and seen[-1] == ("status", "succeeded", 100)
        assert int((cluster.gates / f"{token}.pid").read_text()) == cluster.worker.pid
        result = await client.get(f"/api/conversions/{conversion_id}/result")
        assert result.status_code == 200 and result.text == f"<p>{token}</p>\n"


async def test_the_uploads_per_minute_are_counted_across_nodes(cluster):
    async with anonymous(cluster) as client:
        auth = await signed_in(cluster, client)
        answers = [await cluster.send(client, "POST", "/api/files?filename=counted.txt", content=b"x",
                                      headers=auth) for _ in range(UPLOADS_PER_MINUTE + 2)]
    statuses = [response.status_code for response, _ in answers]
    assert statuses == [201] * UPLOADS_PER_MINUTE + [429, 429]  # each node alone has seen fewer than the limit
    assert {node for _, node in answers[:UPLOADS_PER_MINUTE]} == {1, 2}
    assert {node for _, node in answers[UPLOADS_PER_MINUTE:]} == {1, 2}
    refusal = answers[-1][0]
    assert refusal.json()["error"]["code"] == "rate_limited" and 0 < int(refusal.headers["Retry-After"]) <= 60


async def test_a_worker_killed_mid_job_leaves_one_result_and_one_charge(cluster):
    async with anonymous(cluster) as client:
        auth = await signed_in(cluster, client)
        client.headers.update(auth)
        upload = (await client.post("/api/files?filename=notes.txt", content=b"once only")).json()
        job = (await client.post("/api/conversions", json={"file_id": upload["id"], "to": "md"})).json()
        eventually(cluster.fault_marker.exists, 30, "the worker to start the conversion")
        cluster.worker.kill()
        cluster.worker = cluster.start_worker()  # another process on this host: it takes the job over at once

        async def status() -> str:
            return (await client.get(f"/api/conversions/{job['id']}")).json()["status"]
        deadline = time.monotonic() + 60
        while await status() not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, "the conversion did not end on the new worker"
            await asyncio.sleep(0.05)
        assert await status() == "succeeded"
        assert (await client.get(f"/api/conversions/{job['id']}/result")).content == b"ONCE ONLY"
        assert [c["id"] for c in (await client.get("/api/conversions")).json()["conversions"]] == [job["id"]]
        charges = (await client.get("/api/billing/transactions")).json()["transactions"]
        assert [t["conversion_id"] for t in charges] == [job["id"]]
        results = [f for f in (await client.get("/api/files")).json()["files"] if f["id"] != upload["id"]]
        assert [f["filename"] for f in results] == ["notes.md"]
