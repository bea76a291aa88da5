"""Office conversions through the running server: the plugin's pool registered for its converters only, one-shot
docx -> pdf, the pool gauge, reStructuredText -> pdf chained through pandoc and LibreOffice, and a zip bomb answered
with 422."""

from __future__ import annotations

import subprocess

import pytest

from samples import write_docx, write_zip_bomb_docx


@pytest.fixture
def anclora_overrides():
    return {"office_pool_size": 1}


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


async def test_office_documents_convert_through_the_server_pool(client, anclora_ctx, tmp_path):
    pool = anclora_ctx.engine_pools.for_converter("office_document")["office_pool"]
    assert "office_pool" not in anclora_ctx.engine_pools.for_converter("markup")  # not another plugin's to use
    assert not pool.instances  # nothing runs before the first office conversion

    docx = write_docx(tmp_path / "report.docx", ["Quarterly report", "All numbers are up"])
    response = await client.post("/api/convert?to=pdf&filename=report.docx", content=docx.read_bytes())
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"%PDF-")
    assert "Quarterly report" in pdf_text(response.content)
    assert [instance.conversions for instance in pool.instances.values()] == [1]

    metrics = (await client.get("/api/metrics")).text
    assert 'anclora_engine_pool_instances{engine="libreoffice",state="idle"} 1.0' in metrics


async def test_restructured_text_becomes_pdf_through_pandoc_and_libreoffice(client, anclora_ctx):
    response = await client.post("/api/convert?to=pdf&filename=notes.rst",
                                 content=b"Notes\n=====\n\nWritten in *reStructuredText*.\n")
    assert response.status_code == 200, response.text
    assert "Written in reStructuredText" in pdf_text(response.content)
    formats = (await client.get("/api/formats")).json()["conversions"]
    [rst_to_pdf] = [entry for entry in formats if entry["from"] == "rst" and entry["to"] == "pdf"]
    assert rst_to_pdf["via"] and rst_to_pdf["via"][0] in ("docx", "odt")


async def test_a_zip_bomb_gets_a_clean_422(client, anclora_ctx, tmp_path):
    bomb = write_zip_bomb_docx(tmp_path / "bomb.docx")
    response = await client.post("/api/convert?to=pdf&filename=bomb.docx", content=bomb.read_bytes())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "conversion_failed"
    pool = anclora_ctx.engine_pools.for_converter("office_document")["office_pool"]
    assert not pool.instances  # LibreOffice never started
