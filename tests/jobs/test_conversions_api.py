"""Conversions through the HTTP API: the happy path, chains, options, refusals, ownership, results."""

import asyncio

import httpx
import pytest

pytestmark = pytest.mark.storage_backends


async def test_conversion_succeeds_and_result_downloads(api, client, anclora_ctx):
    job = await api.convert("notes.txt", b"hello world", "md", options={"repeat": 2})
    assert job["status"] == "queued" and job["converter"] == "upper_text" and job["cost"] == 2
    done = await api.wait(job["id"], "succeeded", "failed")
    assert done["status"] == "succeeded", done
    assert done["progress"] == 100 and done["error"] is None and done["started_at"] and done["finished_at"]
    result = await client.get(f"/api/conversions/{job['id']}/result")
    assert result.status_code == 200
    assert result.content == b"HELLO WORLDHELLO WORLD"
    assert result.headers["content-disposition"].startswith('attachment; filename="notes.md"')
    meta = (await client.get(f"/api/files/{done['result_file_id']}")).json()
    assert meta["filename"] == "notes.md" and meta["format"] == "md"
    metrics = (await client.get("/api/metrics")).text
    assert 'anclora_conversions_total{converter="upper_text",outcome="succeeded"} 1.0' in metrics
    assert "anclora_queue_wait_seconds_count 1.0" in metrics
    # the input was staged into a work folder and the output moved into storage: nothing stays on the worker
    assert not list((anclora_ctx.storage.scratch / "work").iterdir())
    assert not list(anclora_ctx.storage.tmp_dir.iterdir())


async def test_chain_runs_both_steps_with_options_on_the_last(api, client):
    job = await api.convert("a.txt", b"chain me", "html", options={"title": "T"})
    assert job["converter"] == "upper_text+md_to_html" and job["via"] == ["md"] and job["cost"] == 5
    await api.wait(job["id"], "succeeded")
    result = await client.get(f"/api/conversions/{job['id']}/result")
    assert result.content == b"<!doctype html><title>T</title><pre>CHAIN ME</pre>"


async def test_invalid_options_are_400_with_every_error(api, client):
    file_id = await api.upload("a.txt", b"x")
    response = await client.post("/api/conversions", json={
        "file_id": file_id, "to": "md", "options": {"repeat": 9, "colour": "red"}})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    messages = " ".join(item["message"] for item in error["details"])
    assert "9 is greater than the maximum of 3" in messages and "colour" in messages
    assert (await client.get("/api/conversions")).json()["conversions"] == []


async def test_unknown_pair_is_422(api, client):
    file_id = await api.upload("a.txt", b"x")
    response = await client.post("/api/conversions", json={"file_id": file_id, "to": "mp3"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unsupported_conversion"


async def test_failed_conversion_reports_its_error_and_result_is_409(api, client):
    job = await api.convert("data.yaml", b"a: 1\n", "json")
    done = await api.wait(job["id"], "failed")
    assert done["error"] == {"code": "conversion_failed", "message": "this yaml is not acceptable"}
    result = await client.get(f"/api/conversions/{job['id']}/result")
    assert result.status_code == 409 and result.json()["error"]["code"] == "conflict"


async def test_someone_elses_conversion_is_404(api, anclora_server):
    job = await api.convert("a.txt", b"mine", "md")
    async with httpx.AsyncClient(base_url=anclora_server) as stranger:
        for path in ("", "/result", "/events"):
            response = await stranger.get(f"/api/conversions/{job['id']}{path}")
            assert response.status_code == 404, path
        assert (await stranger.delete(f"/api/conversions/{job['id']}")).status_code == 404
        listing = await stranger.get("/api/conversions")
        assert listing.json()["conversions"] == []
        response = await stranger.post("/api/conversions", json={"file_id": job["file_id"], "to": "md"})
        assert response.status_code == 404


async def test_idempotency_key_gives_one_job(api, client, sample):
    file_id = await api.upload("a.txt", b"once")
    headers = {"Idempotency-Key": "order-42"}
    first = await client.post("/api/conversions", json={"file_id": file_id, "to": "md"}, headers=headers)
    second = await client.post("/api/conversions", json={"file_id": file_id, "to": "md"}, headers=headers)
    assert first.status_code == 202 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert len((await client.get("/api/conversions")).json()["conversions"]) == 1
    queued = [event for event in sample.EVENTS if event[0] == "queued"]
    assert len(queued) == 1
    other = await client.post("/api/conversions", json={"file_id": file_id, "to": "html"}, headers=headers)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_mismatch"
    assert len((await client.get("/api/conversions")).json()["conversions"]) == 1


async def test_dry_run_quotes_without_a_job(api, client):
    file_id = await api.upload("a.txt", b"quote me")
    response = await client.post("/api/conversions", json={"file_id": file_id, "to": "html", "dry_run": True})
    assert response.status_code == 200
    quote = response.json()
    assert quote["dry_run"] is True and quote["cost"] == 5 and quote["via"] == ["md"]
    assert (await client.get("/api/conversions")).json()["conversions"] == []


async def test_type_comes_from_the_bytes_not_the_name(api, client):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    file_id = await api.upload("letter.txt", png)
    response = await client.post("/api/conversions", json={"file_id": file_id, "to": "md"})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["from"] == "png"


async def test_concurrent_requests_with_one_key_make_one_job_and_one_authorization(api, client, sample):
    file_id = await api.upload("a.txt", b"race")
    responses = await asyncio.gather(*(
        client.post("/api/conversions", json={"file_id": file_id, "to": "md"}, headers={"Idempotency-Key": "r"})
        for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 202]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(sample.AUTHORIZED) == 1
    assert len((await client.get("/api/conversions")).json()["conversions"]) == 1
