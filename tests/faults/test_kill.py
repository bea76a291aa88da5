"""The server killed with SIGKILL, mid-upload and mid-conversion, then started again on the same database and
folder: no half file is ever visible, `anclora cleanup` removes the partial after its grace, and a conversion
runs again to exactly one result and one charge."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from plugin_folders import FAULTS, bundled_plugin_names
from rawhttp import open_connection, request_head
from server_process import ServerProcess
from waiting import eventually

from anclora.files import ORPHAN_GRACE_SECONDS
from anclora.identity import new_session_token

def restart(tmp_path: Path, database_url: str, **settings) -> ServerProcess:
    """A new server process on the first one's database and storage, with `settings` (its storage among them)."""
    cwd = tmp_path / f"run-{time.monotonic_ns()}"
    cwd.mkdir()
    server = ServerProcess(cwd, database_url, **{"UPLOAD_FOLDER": str(tmp_path / "uploads"), **settings})
    server.wait_ready()
    return server



def cleanup(tmp_path: Path, database_url: str, storage: dict[str, str]) -> dict:
    import json

    from anclora.testing import TEST_JWT_SECRET

    done = subprocess.run([sys.executable, "-m", "anclora", "cleanup"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={
                              "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": database_url,
                              "JWT_SECRET_KEY": TEST_JWT_SECRET, "ANCLORA_PLUGINS_ENTRYPOINTS": "false",
                              "LOG_LEVEL": "WARNING", **storage})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_sigkill_mid_upload(tmp_path, anclora_database_url, anclora_storage_environ):
    server = ServerProcess(tmp_path, anclora_database_url, **anclora_storage_environ)
    server.wait_ready()
    session = {"X-Anclora-Session": new_session_token()}
    partials = lambda: list((tmp_path / "uploads" / "tmp").glob("*.part"))  # noqa: E731
    try:
        reader, writer = await open_connection(server.url)
        writer.write(request_head("POST", "/api/files?filename=half.bin", {**session, "Content-Length": "8000000"}))
        writer.write(os.urandom(3_000_000))
        await writer.drain()
        eventually(lambda: any(p.stat().st_size > 0 for p in partials()))
        server.process.kill()
        server.process.wait()
        writer.transport.abort()
    finally:
        server.stop()
    again = restart(tmp_path, anclora_database_url, **anclora_storage_environ)
    try:
        with httpx.Client(base_url=again.url, headers=session) as client:
            assert client.get("/api/files").json()["files"] == []
        # young: may be an upload in flight
        assert cleanup(tmp_path, anclora_database_url, anclora_storage_environ)["stale_partials"] == 0
        [partial] = partials()
        aged = time.time() - ORPHAN_GRACE_SECONDS - 60
        os.utime(partial, (aged, aged))  # as if the grace had passed
        assert cleanup(tmp_path, anclora_database_url, anclora_storage_environ)["stale_partials"] == 1
        assert partials() == []
    finally:
        again.stop()


def test_sigkill_mid_conversion_runs_it_again_to_one_result_and_one_charge(tmp_path, anclora_database_url,
                                                                           anclora_storage_environ):
    marker = tmp_path / "first-run"
    settings = {"ANCLORA_PLUGINS_DIRS": str(FAULTS), "ANCLORA_PLUGINS_BLOCK": ",".join(bundled_plugin_names()),
                "FAULT_MARKER": str(marker), **anclora_storage_environ}  # (only the test's converter takes txt → md)
    server = ServerProcess(tmp_path, anclora_database_url, **settings)
    server.wait_ready()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            signed = client.post("/api/auth/register", json={"email": "kill@example.org", "password": "long password"})
            auth = {"Authorization": f"Bearer {signed.json()['access_token']}"}
            upload = client.post("/api/files?filename=notes.txt", content=b"once only", headers=auth).json()
            job = client.post("/api/conversions", json={"file_id": upload["id"], "to": "md"}, headers=auth).json()
            eventually(marker.exists)
            server.process.kill()
            server.process.wait()
    finally:
        server.stop()
    again = restart(tmp_path, anclora_database_url, **settings)
    try:
        with httpx.Client(base_url=again.url, timeout=60, headers=auth) as client:
            status = lambda: client.get(f"/api/conversions/{job['id']}").json()["status"]  # noqa: E731
            assert eventually(lambda: status() in ("succeeded", "failed"), timeout=60) and status() == "succeeded"
            assert client.get(f"/api/conversions/{job['id']}/result").content == b"ONCE ONLY"
            assert [c["id"] for c in client.get("/api/conversions").json()["conversions"]] == [job["id"]]
            charges = client.get("/api/billing/transactions").json()["transactions"]
            assert [t["conversion_id"] for t in charges] == [job["id"]]
            results = [f for f in client.get("/api/files").json()["files"] if f["id"] != upload["id"]]
            assert [f["filename"] for f in results] == ["notes.md"]
    finally:
        again.stop()
