"""`anclora convert`, `formats`, `plugins` and `worker` as an operator runs them: real processes."""

import asyncio
import json
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import select

from anclora.db.models import ResumableUpload
from anclora.testing import TEST_JWT_SECRET, storage_environ
from plugin_folders import JOBS, bundled_plugin_names
from sample_plugins import sample_overrides

ANCLORA = [sys.executable, "-m", "anclora"]


def cli_env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANCLORA_", "DATABASE_URL"))}
    env.update(ANCLORA_PLUGINS_DIRS=str(JOBS), ANCLORA_PLUGINS_BLOCK=",".join(bundled_plugin_names()),
               ANCLORA_PLUGINS_ENTRYPOINTS="false", JWT_SECRET_KEY=TEST_JWT_SECRET, LOG_LEVEL="WARNING", **extra)
    return env


def run(args, cwd, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(ANCLORA + args, cwd=cwd, env=cli_env(DATABASE_URL=f"sqlite:///{cwd}/cli.db", **extra),
                          capture_output=True, text=True, timeout=120)


def test_convert_locally_through_a_chain_with_options(tmp_path):
    (tmp_path / "notes.txt").write_text("local")
    done = run(["convert", "notes.txt", "--to", "html", "--option", "title=Hi"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "notes.html"
    assert (tmp_path / "notes.html").read_text() == "<!doctype html><title>Hi</title><pre>LOCAL</pre>"
    assert "100%" in done.stderr and "upper_text+md_to_html" in done.stderr


def test_convert_refuses_bad_options_and_unknown_pairs(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    bad = run(["convert", "notes.txt", "--to", "md", "--option", "repeat=7", "-o", "out.md"], tmp_path)
    assert bad.returncode == 1 and "options are invalid" in bad.stderr and "repeat" in bad.stderr
    unknown = run(["convert", "notes.txt", "--to", "mp3"], tmp_path)
    assert unknown.returncode == 1 and "No converter turns txt into mp3" in unknown.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".db") == ["notes.txt"]


def test_formats_and_plugins_tables(tmp_path):
    formats = run(["formats", "--json"], tmp_path)
    assert formats.returncode == 0, formats.stderr
    rows = json.loads(formats.stdout)["conversions"]
    txt_to_html = next(row for row in rows if (row["from"], row["to"]) == ("txt", "html"))
    assert {"from": "txt", "to": "html", "converter": "upper_text+md_to_html", "via": ["md"], "cost": 5,
            "family": "document"} == {
        key: value for key, value in txt_to_html.items() if key != "options"}
    table = run(["formats"], tmp_path).stdout
    assert any(line.split()[:4] == ["txt", "html", "5", "upper_text+md_to_html"] for line in table.splitlines())
    plugins = run(["plugins"], tmp_path).stdout
    assert "sample_converters" in plugins and "missing_engine: txt -> pdf [unavailable:" in plugins


@pytest.fixture
def anclora_overrides(request):
    overrides = sample_overrides()
    if getattr(request, "param", None) == "queue only":  # no executor in the server: workers convert
        overrides["plugins_block"] = overrides["plugins_block"] + ["jobs"]
    return overrides


async def test_convert_through_a_server(anclora_server, anclora_ctx, tmp_path):
    (tmp_path / "notes.txt").write_text("remote")
    process = await asyncio.create_subprocess_exec(
        *ANCLORA, "convert", "notes.txt", "--to", "md", "--option", "repeat=2", "--server", anclora_server,
        cwd=tmp_path, env=cli_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert (tmp_path / "notes.md").read_text() == "REMOTEREMOTE"
    assert b"100% done" in stderr
    async with anclora_ctx.sessionmaker() as session:  # the file went up as a resumable upload
        [upload] = list(await session.scalars(select(ResumableUpload)))
    assert upload.offset == upload.length == 6 and upload.file_id
    assert upload.upload_metadata == {"filename": "notes.txt"}


@pytest.mark.parametrize("anclora_overrides", ["queue only"], indirect=True)
async def test_worker_process_runs_what_the_server_queued(client, anclora_ctx, anclora_settings, tmp_path):
    assert "executor" not in anclora_ctx.state("jobs")  # the server only queues; the worker process converts
    upload = await client.post("/api/files?filename=w.txt", content=b"from the worker")
    job = (await client.post("/api/conversions", json={"file_id": upload.json()["id"], "to": "md"})).json()
    env = cli_env(DATABASE_URL=anclora_settings.database_url, REDIS_URL=anclora_settings.redis_url,
                  **storage_environ(anclora_settings))
    worker = await asyncio.create_subprocess_exec(*ANCLORA, "worker", cwd=tmp_path, env=env,
                                                  stderr=asyncio.subprocess.PIPE)
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while (body := (await client.get(f"/api/conversions/{job['id']}")).json())["status"] != "succeeded":
            assert body["status"] in ("queued", "running") and asyncio.get_running_loop().time() < deadline, body
            await asyncio.sleep(0.1)
        result = await client.get(f"/api/conversions/{job['id']}/result")
        assert result.content == b"FROM THE WORKER"
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(worker.communicate(), 30)
    assert worker.returncode == 0, stderr.decode()
    assert b"worker " in stderr
