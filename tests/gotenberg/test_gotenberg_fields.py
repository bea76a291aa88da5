"""Every Gotenberg field we do not implement, and every invalid value, is refused with Gotenberg's 400 naming it;
refusals and conversions leave no file behind; credentials as Gotenberg clients send them."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid

import pytest
from gotenberg_samples import write_docx, write_pdf
from storage_state import stored_keys

NOT_IMPLEMENTED = ["password", "exportBookmarks", "exportNotes", "singlePageSheets", "updateIndexes",
                   "nativeWatermarkText", "splitMode", "watermarkSource", "downloadFrom", "rotateAngle"]


async def post_form(client, route, files, data=None, headers=None):
    parts = {path.name: (path.name, path.read_bytes()) for path in files}
    return await client.post(f"/forms/{route}", files=parts, data=data or {}, headers=headers or {})


def assert_refused(response, text):
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert text in response.text


@pytest.mark.parametrize("field", NOT_IMPLEMENTED)
async def test_fields_we_do_not_implement_are_refused_by_name(client, tmp_path, field):
    docx = write_docx(tmp_path / "a.docx")
    response = await post_form(client, "libreoffice/convert", [docx], {field: "1"})
    assert_refused(response, f"form field '{field}' is not supported")


@pytest.mark.parametrize("field, value", [
    ("landscape", "sideways"), ("exportFormFields", "maybe"), ("losslessImageCompression", "2"),
    ("quality", "0"), ("quality", "high"), ("reduceImageResolution", "yes please"),
    ("maxImageResolution", "100"), ("nativePageRanges", "one-two"), ("pdfua", "x"), ("merge", "often"),
    ("flatten", "flat"), ("metadata", "{not json"), ("metadata", "[1, 2]")])
async def test_invalid_values_are_refused_by_name(client, tmp_path, field, value):
    docx = write_docx(tmp_path / "a.docx")
    response = await post_form(client, "libreoffice/convert", [docx], {field: value})
    assert_refused(response, f"form field '{field}' is invalid (got '")


async def test_pdfa_levels_we_cannot_write_are_refused(client, tmp_path):
    docx = write_docx(tmp_path / "a.docx")
    response = await post_form(client, "libreoffice/convert", [docx], {"pdfa": "PDF/A-1a"})
    assert_refused(response, "The requested PDF format is not supported")
    both = await post_form(client, "libreoffice/convert", [docx], {"pdfa": "PDF/A-2b", "flatten": "true"})
    assert_refused(both, "form field 'flatten' cannot be combined with 'pdfa' or 'pdfua'")


@pytest.mark.parametrize("route, data, text", [
    ("pdfengines/split", {"splitMode": "pages", "splitSpan": "1", "pdfa": "PDF/A-2b"},
     "form field 'pdfa' is not supported"),
    ("pdfengines/flatten", {"pdfua": "true"}, "form field 'pdfua' is not supported"),
    ("pdfengines/merge", {"pdfa": "PDF/A-2b", "metadata": '{"Title": "x"}'},
     "'metadata' cannot be combined with 'pdfa'"),
    ("pdfengines/split", {"splitSpan": "2"}, "form field 'splitMode' is required"),
    ("pdfengines/split", {"splitMode": "chapters", "splitSpan": "2"}, "form field 'splitMode' is invalid"),
    ("pdfengines/split", {"splitMode": "intervals", "splitSpan": "2", "splitUnify": "true"},
     "form field 'splitUnify' is invalid"),
    ("pdfengines/split", {"splitMode": "intervals", "splitSpan": "two"}, "form field 'splitSpan' is invalid"),
    ("pdfengines/flatten", {"metadata": "{}"}, "form field 'metadata' is not supported"),
    ("pdfengines/metadata/write", {}, "form field 'metadata' is required"),
    ("pdfengines/metadata/read", {"flatten": "true"}, "form field 'flatten' is not supported"),
    ("pdfengines/convert", {}, "either 'pdfa' or 'pdfua' form fields must be provided"),
    ("pdfengines/convert", {"pdfa": "PDF/A-4"}, "The requested PDF format is not supported"),
])
async def test_pdf_engine_fields_we_do_not_implement_are_refused(client, tmp_path, route, data, text):
    pdf = write_pdf(tmp_path / "a.pdf", 2, side=300)
    assert_refused(await post_form(client, route, [pdf], data), text)


async def test_a_document_that_is_not_a_pdf_is_refused_by_the_pdf_routes(client, tmp_path):
    docx = write_docx(tmp_path / "a.docx")
    assert_refused(await post_form(client, "pdfengines/merge", [docx]), "'a.docx' is not a PDF")


async def test_nothing_is_left_behind(client, anclora_ctx, tmp_path):
    docx = write_docx(tmp_path / "a.docx")
    assert (await post_form(client, "libreoffice/convert", [docx], {"quality": "0"})).status_code == 400
    converted = await post_form(client, "libreoffice/convert", [docx, write_docx(tmp_path / "b.docx")],
                                {"quality": "50", "metadata": '{"Title": "Both"}'})
    assert converted.status_code == 200, converted.text
    assert converted.headers["Content-Type"] == "application/zip"
    deadline = time.monotonic() + 10  # the answer's bytes go once the last of them has been handed over
    while await stored_keys(anclora_ctx) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert await stored_keys(anclora_ctx) == []
    assert (await client.get("/api/files", headers={"X-Anclora-Session": converted.headers["X-Anclora-Session"]})
            ).json()["files"] == []


async def test_basic_auth_with_an_api_key_and_x_api_key(client, tmp_path):
    registered = await client.post("/api/auth/register", json={
        "email": f"g-{uuid.uuid4().hex[:10]}@example.org", "password": "long enough password"})
    token = registered.json()["access_token"]
    created = await client.post("/api/me/api-keys", json={"name": "gotenberg"},
                                headers={"Authorization": f"Bearer {token}"})
    key = created.json()["key"]
    pdf = write_pdf(tmp_path / "a.pdf", 1, side=300)
    basic = base64.b64encode(f"anyone:{key}".encode()).decode()
    for headers in ({"Authorization": f"Basic {basic}"}, {"X-API-Key": key}):
        response = await post_form(client, "pdfengines/metadata/read", [pdf], headers=headers)
        assert response.status_code == 200, response.text
        assert "X-Anclora-Session" not in response.headers  # a user, not an anonymous session
    forged = base64.b64encode(b"anyone:ak_forged").decode()
    refused = await post_form(client, "pdfengines/metadata/read", [pdf], headers={"Authorization": f"Basic {forged}"})
    assert refused.status_code == 401
    assert refused.headers["Content-Type"] == "text/plain; charset=UTF-8"
