"""The PDF tools through the running server: a protected PDF without its password is a 422 with a stable code,
with it converts; a job protects and watermarks with JSON options, and its answers never show the passwords;
what is refused leaves nothing behind."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from samples import write_encrypted_pdf, write_pdf
from storage_state import stored_keys

sys.path.insert(0, str(Path(__file__).parent.parent / "jobs"))  # (the job API helpers)
from job_api import Api  # noqa: E402


def page_text(data: bytes, password: str | None = None) -> subprocess.CompletedProcess:
    argv = ["pdftotext", "-raw", *(["-upw", password] if password else []), "-", "-"]
    return subprocess.run(argv, input=data, capture_output=True, timeout=60)


async def no_files_left(client, anclora_ctx) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while await stored_keys(anclora_ctx):  # a one-shot's bytes go right after they are sent
        assert asyncio.get_running_loop().time() < deadline, await stored_keys(anclora_ctx)
        await asyncio.sleep(0.05)
    assert (await client.get("/api/files")).json()["files"] == []


async def test_a_protected_pdf_needs_its_password(client, anclora_ctx, tmp_path):
    locked = write_encrypted_pdf(tmp_path / "locked.pdf", password="open sesame").read_bytes()
    refused = await client.post("/api/convert?to=pdf&filename=locked.pdf&cache=false", content=locked)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "password_required"
    wrong = await client.post("/api/convert?to=pdf&filename=locked.pdf&password=guess&cache=false", content=locked)
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "password_incorrect"
    image = await client.post("/api/convert?to=png&filename=locked.pdf&cache=false", content=locked)
    assert image.status_code == 422 and image.json()["error"]["code"] == "password_required"

    opened = await client.post("/api/convert?to=pdf&filename=locked.pdf&password=open%20sesame&cache=false",
                               content=locked)
    assert opened.status_code == 200, opened.text
    assert b"/Encrypt" not in opened.content and "Confidential" in page_text(opened.content).stdout.decode()
    await no_files_left(client, anclora_ctx)


async def test_a_job_watermarks_and_protects(client, tmp_path):
    api = Api(client)
    pdf = write_pdf(tmp_path / "two.pdf", ["First page", "Second page"]).read_bytes()
    job = await api.convert("two.pdf", pdf, "pdf", options={
        "watermark": {"text": "INTERNAL", "rotation": 0, "position": "top"},
        "protect": {"user_password": "reader", "owner_password": "owner", "allow_copying": False},
        "linearize": True})
    done = await api.wait(job["id"], "succeeded", "failed", timeout=60)
    assert done["status"] == "succeeded", done
    assert done["converter"] == "pdf_pages"
    shown = (await client.get(f"/api/conversions/{job['id']}")).text
    assert done["options"]["protect"] == {"user_password": "********", "owner_password": "********",
                                          "allow_copying": False}
    assert "reader" not in shown and "owner\"" not in shown
    assert done["options"]["watermark"]["text"] == "INTERNAL"  # other options are shown as given
    result = (await client.get(f"/api/conversions/{job['id']}/result")).content
    assert page_text(result).returncode != 0
    text = page_text(result, "reader").stdout.decode()
    assert text.count("INTERNAL") == 2 and "Second page" in text


async def test_options_that_are_not_implemented_are_refused(client, tmp_path):
    file_id = await Api(client).upload("a.pdf", write_pdf(tmp_path / "a.pdf").read_bytes())
    for options in ({"watermark": {"text": "x", "shadow": True}}, {"compress": "ultra"},
                    {"protect": {"user_password": "a", "allow_everything": True}}):
        response = await client.post("/api/conversions", json={"file_id": file_id, "to": "pdf", "options": options})
        assert response.status_code == 400, options
        assert response.json()["error"]["details"]
