"""Python workers forked from a warm process keep the sandbox of a freshly started one: own process group, the
job's folder, an empty environment, no network, a timeout with no survivors; a lost warm process costs its jobs
only, and the next conversion gets a new one."""

import json
import os
import signal
import socket

from job_api import alive, all_dead, until

from anclora.engines.sandbox import network_isolation

PAGE = b"<!doctype html><p>probe</p>"


async def result_of(api, client, **options) -> dict:
    job = await api.convert("page.html", PAGE, "txt", options={"mode": "report", **options}, cache=False)
    done = await api.wait(job["id"], "succeeded", "failed")
    assert done["status"] == "succeeded", done
    response = await client.get(f"/api/conversions/{job['id']}/result")
    return json.loads(response.content)


async def test_each_conversion_runs_in_a_fresh_sandboxed_child_of_one_warm_process(api, client, anclora_ctx):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        first = await result_of(api, client, port=listener.getsockname()[1])
        second = await result_of(api, client, port=listener.getsockname()[1])
    assert first["input"] == PAGE.decode()
    assert first["ppid"] == second["ppid"] and first["pid"] != second["pid"]  # forked, from the same process
    assert first["warmed_in"] == second["warmed_in"] == first["ppid"]  # warm() ran once, in the warm process
    for seen in (first, second):
        assert seen["pgid"] == seen["pid"]  # a group of its own: killing it kills what it started
        assert set(seen["env"]) == {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL"}
        assert seen["env"]["HOME"] == seen["cwd"]
        assert os.path.dirname(seen["cwd"]) == str(anclora_ctx.storage.scratch / "work")
        if network_isolation():
            assert seen["network"] != "connected"
    assert first["cwd"] != second["cwd"]


async def hung_job(api, tmp_path) -> tuple[dict, int, int, int]:
    """A conversion whose worker hangs with a child of its own: (the job, the worker's pid, its child's, and the
    warm process's)."""
    pidfile = tmp_path / "pids"
    job = await api.convert("page.html", PAGE, "txt", options={"mode": "hang", "pidfile": str(pidfile)})
    await until(lambda: pidfile.exists() and len(pidfile.read_text().split()) == 3, what="the worker's pids")
    child, sleeper, warm = map(int, pidfile.read_text().split())
    return job, child, sleeper, warm


async def test_a_hung_warm_child_times_out_without_survivors(api, tmp_path, anclora_ctx):
    job, child, sleeper, warm = await hung_job(api, tmp_path)
    done = await api.wait(job["id"], "failed", timeout=20)
    assert done["error"]["code"] == "conversion_timeout"
    assert await all_dead([child, sleeper])
    assert alive(warm)  # the warm process stays for the next job
    assert [p.name for p in (anclora_ctx.storage.scratch / "work").iterdir() if not p.name.startswith(".")] == []


async def test_a_lost_warm_process_fails_its_job_and_the_next_conversion_starts_a_new_one(api, client, tmp_path):
    job, child, sleeper, warm = await hung_job(api, tmp_path)
    os.kill(warm, signal.SIGKILL)
    done = await api.wait(job["id"], "failed", timeout=20)
    assert done["error"]["code"] == "conversion_failed"
    assert await all_dead([child, sleeper])
    after = await result_of(api, client)
    assert after["ppid"] != warm


async def test_cancel_kills_the_warm_child_and_what_it_started(api, client, tmp_path):
    job, child, sleeper, warm = await hung_job(api, tmp_path)
    response = await client.delete(f"/api/conversions/{job['id']}")
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    assert await all_dead([child, sleeper])
    assert alive(warm)


async def test_a_worker_script_that_cannot_load_fails_its_jobs_and_says_why(api, caplog):
    for _ in range(2):  # and again: each job tries a new warm process
        job = await api.convert("doc.xml", b"<?xml version='1.0'?><a/>", "txt")
        done = await api.wait(job["id"], "failed", timeout=20)
        assert done["error"]["code"] == "conversion_failed"
    assert "the broken worker's library is missing" in caplog.text
