"""The host's PDF/A check on a converter that declares `pdfa` and does not keep its word: the conversion fails
with a clear error, and nothing is stored for the caller."""

import pytest

from plugin_folders import PDFA


@pytest.fixture
def anclora_overrides():
    return {"plugins_dirs": [str(PDFA)]}


async def test_a_pdf_that_does_not_name_its_pdfa_part_fails_the_conversion(client, anclora_ctx):
    assert anclora_ctx.planner.route("txt", "pdf", {"pdfa": "2b"}).name == "claims_pdfa"
    response = await client.post("/api/convert?to=pdf&filename=notes.txt&pdfa=2b", content=b"Some notes\n")
    assert response.status_code == 422, response.text
    assert response.json()["error"] == {
        "code": "conversion_failed",
        "message": "The result is not PDF/A-2b: its XMP metadata carries no PDF/A identification."}
    assert (await client.get("/api/files")).json()["files"] == []

    plain = await client.post("/api/convert?to=pdf&filename=notes.txt", content=b"Some notes\n")
    assert plain.status_code == 200 and plain.content.startswith(b"%PDF-")  # without `pdfa` nothing is checked
