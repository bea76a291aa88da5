"""What the scanning tests share: a clean file, tus headers, reading the scan counters, the empty store."""

from __future__ import annotations

import base64

from clamd_process import SIGNATURE

UPLOAD_LIMIT = 8 * 1024 * 1024  # the server's limit, and the session clamd's StreamMaxLength to match
NOTHING = {"files": 0, "uploads": 0, "objects": [], "parts": []}
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}
CLEAN = b"A plain text file, nothing to see here.\n" * 100


def assert_infected(response) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "infected"
    assert error["details"]["signature"].startswith(SIGNATURE)
    assert SIGNATURE in error["message"]


async def scans(client, outcome: str) -> float:
    """The server's count of scans with this outcome (`anclora_upload_scans_total`)."""
    text = (await client.get("/api/metrics")).text
    line = f'anclora_upload_scans_total{{outcome="{outcome}"}} '
    return next((float(row.removeprefix(line)) for row in text.splitlines() if row.startswith(line)), 0.0)


async def tus_create(client, length: int, **headers) -> str:
    metadata = f"filename {base64.b64encode(b'upload.bin').decode()}"
    response = await client.post("/api/uploads/", headers={
        **TUS, "Upload-Length": str(length), "Upload-Metadata": metadata, **headers})
    assert response.status_code == 201, response.text
    return response.headers["Location"]
