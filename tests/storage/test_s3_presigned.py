"""`s3_presigned_downloads`: a stored file's download is a redirect to a presigned URL of the bucket, which serves
the same bytes (Range included) as an attachment; answers whose file goes once sent still stream."""

from __future__ import annotations

import os

import httpx
import pytest

from plugin_folders import JOBS, bundled_plugin_names


@pytest.fixture
def anclora_storage() -> str:
    return "s3"


@pytest.fixture
def anclora_overrides():
    return {"plugins_dirs": [str(JOBS)], "plugins_block": bundled_plugin_names(), "s3_presigned_downloads": True}


async def test_downloads_redirect_to_the_bucket(client, anclora_s3_server):
    body = os.urandom(300_000)
    created = (await client.post("/api/files", params={"filename": "report.bin"}, content=body)).json()
    answer = await client.get(f"/api/files/{created['id']}/content")
    assert answer.status_code == 307
    location = answer.headers["Location"]
    assert location.startswith(anclora_s3_server + "/") and "Signature=" in location
    async with httpx.AsyncClient() as anyone:  # no session, no cookie: the URL is the capability, for 5 minutes
        whole = await anyone.get(location)
        assert whole.status_code == 200 and whole.content == body
        assert whole.headers["Content-Disposition"].startswith('attachment; filename="report.bin"')
        ranged = await anyone.get(location, headers={"Range": "bytes=1000-1999"})
        assert ranged.status_code == 206 and ranged.content == body[1000:2000]
    followed = await client.get(f"/api/files/{created['id']}/content", follow_redirects=True)
    assert followed.content == body


async def test_a_one_shot_answer_is_streamed_not_redirected(client):
    response = await client.post("/api/convert?to=md&filename=hi.txt&cache=false", content=b"hi")
    assert response.status_code == 200 and response.content == b"HI"
