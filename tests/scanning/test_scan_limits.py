"""An upload limit above what clamd takes: a file past clamd's StreamMaxLength, or past its MaxFileSize (reported
by `AlertExceedsMax`), is refused with 413 `too_large_to_scan`, never passed as clean, and nothing is stored."""

from __future__ import annotations

import pytest
from clamd_process import ClamdProcess
from scan_helpers import NOTHING, OCTETS, scans, tus_create

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def small_clamd(tmp_path_factory):
    """clamd taking streams of 2 MiB and scanning files of 1 MiB at most."""
    process = ClamdProcess(tmp_path_factory.mktemp("small-clamd"), stream_max=2 * MiB, max_file=MiB,
                           tcp=True).start()
    yield process
    process.stop()


@pytest.fixture
def anclora_overrides(small_clamd, request):
    """clamd on its socket, or (indirect parameter `tcp`) on its TCP port."""
    reach = {"socket": {"clamd_socket": str(small_clamd.socket)},
             "tcp": {"clamd_host": "127.0.0.1", "clamd_port": small_clamd.port}}
    return {"max_content_length": 4 * MiB, **reach[getattr(request, "param", "socket")]}


def assert_too_large(response, reason: str) -> None:
    """413 naming the clamd limit the file passed."""
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]["reason"]) == ("too_large_to_scan", reason)


@pytest.mark.parametrize("anclora_overrides", ["socket", "tcp"], indirect=True)
async def test_past_clamds_stream_limit_is_413_and_nothing_is_stored(client, stored):
    assert_too_large(await client.post("/api/files?filename=big.bin", content=b"x" * (3 * MiB)), "StreamMaxLength")
    location = await tus_create(client, 3 * MiB)
    assert_too_large(await client.patch(location, content=b"x" * (3 * MiB),
                                        headers={**OCTETS, "Upload-Offset": "0"}), "StreamMaxLength")
    assert await stored() == NOTHING
    assert await scans(client, "too_large") == 2


async def test_past_clamds_file_size_limit_is_413_not_clean(client, stored):
    assert_too_large(await client.post("/api/files?filename=big.bin", content=b"x" * (MiB + MiB // 2)), "MaxFileSize")
    assert await stored() == NOTHING
    assert await scans(client, "clean") == 0


async def test_within_clamds_limits_is_scanned_and_stored(client, stored):
    response = await client.post("/api/files?filename=small.bin", content=b"x" * (MiB // 2))
    assert response.status_code == 201, response.text
    assert await scans(client, "clean") == 1
