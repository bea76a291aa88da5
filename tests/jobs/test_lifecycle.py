"""Jobs end exactly once: cancel and timeouts leave no engine process alive, restarts neither lose nor repeat
a job, lifecycle hooks fire in order, events stream until the end."""

import asyncio
import datetime as dt
import socket
import subprocess

import httpx
import pytest
from job_api import Api, alive, all_dead, until
from sse import sse_events

from anclora.db.base import utcnow
from anclora.db.models import Conversion, File
from anclora.jobs import store
from anclora.jobs.executor import Executor


def work_folders(ctx) -> list:
    folder = ctx.storage.scratch / "work"
    return list(folder.iterdir()) if folder.exists() else []


async def test_cancel_kills_the_engine_process_group(api, client, sample, anclora_ctx):
    job = await api.convert("rows.csv", b"a,b\n1,2\n", "json")
    await api.wait(job["id"], "running")
    pids = await until(lambda: len(sample.PIDS) == 2 and list(sample.PIDS), what="engine pids")
    assert all(alive(pid) for pid in pids)
    await until(lambda: any(event[0] == "progress" for event in sample.EVENTS), what="progress hook")
    response = await client.delete(f"/api/conversions/{job['id']}")
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    assert await all_dead(pids), "an engine process survived the cancel"
    assert work_folders(anclora_ctx) == []
    again = await client.delete(f"/api/conversions/{job['id']}")
    assert again.status_code == 409
    assert [event[0] for event in sample.EVENTS] == ["queued", "started", "progress", "canceled"]
    assert (await client.get(f"/api/conversions/{job['id']}")).json()["status"] == "canceled"


async def test_cancel_does_not_wait_for_a_progress_hook(api, client, sample, anclora_ctx):
    sample.HOLD_PROGRESS.append(asyncio.Event())  # the progress hook never returns
    job = await api.convert("rows.csv", b"a,b\n1,2\n", "json")
    await until(lambda: any(event[0] == "progress" for event in sample.EVENTS), what="progress hook")
    started = asyncio.get_running_loop().time()
    response = await client.delete(f"/api/conversions/{job['id']}")
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    assert asyncio.get_running_loop().time() - started < 5  # (the executor gives a cancel 15 s)
    assert work_folders(anclora_ctx) == []
    assert [event[0] for event in sample.EVENTS] == ["queued", "started", "progress", "canceled"]


async def test_hung_converter_times_out_without_survivors(api, sample, anclora_ctx):
    job = await api.convert("rows.tsv", b"a\tb\n", "json")
    done = await api.wait(job["id"], "failed", timeout=20)
    assert done["error"]["code"] == "conversion_timeout"
    assert len(sample.PIDS) == 2 and await all_dead(sample.PIDS)
    assert work_folders(anclora_ctx) == []
    assert [event[0] for event in sample.EVENTS] == ["queued", "started", "progress", "failed"]


@pytest.fixture
def anclora_overrides(anclora_overrides, request):
    return {**anclora_overrides, **getattr(request, "param", {})}


@pytest.mark.parametrize("anclora_overrides", [{"workers": 1, "queue_size": 1}], indirect=True)
async def test_full_queue_answers_429_at_once(anclora_server):
    # three callers, so no per-caller limit interferes: only the server's queue is full
    async with httpx.AsyncClient(base_url=anclora_server) as first, httpx.AsyncClient(
            base_url=anclora_server) as second, httpx.AsyncClient(base_url=anclora_server) as third:
        running = await Api(first).convert("one.csv", b"a\n", "json")
        await Api(first).wait(running["id"], "running")
        waiting = await Api(second).convert("two.csv", b"a\n", "json")
        file_id = await Api(third).upload("three.txt", b"x")
        started = asyncio.get_running_loop().time()
        response = await third.post("/api/conversions", json={"file_id": file_id, "to": "md"})
        assert asyncio.get_running_loop().time() - started < 2
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "rate_limited" and response.headers["Retry-After"]
        for caller, job in ((second, waiting), (first, running)):
            assert (await caller.delete(f"/api/conversions/{job['id']}")).status_code == 200


async def test_hooks_fire_in_order_once(api, sample):
    job = await api.convert("a.txt", b"hooks", "md")
    await api.wait(job["id"], "succeeded")
    await until(lambda: any(e[0] == "finished" for e in sample.EVENTS), what="finished hook")
    # a job shorter than the progress interval reports nothing between its start and its outcome
    assert [event[0] for event in sample.EVENTS] == ["queued", "started", "finished"]
    assert [event[2] for event in sample.EVENTS] == [0, 0, 100]
    assert {event[1] for event in sample.EVENTS} == {job["id"]}


async def test_events_stream_until_the_final_state(api, client):
    job = await api.convert("a.txt", b"stream", "html")
    statuses = []
    async for event, data in sse_events(client, f"/api/conversions/{job['id']}/events"):
        assert event == "status"
        statuses.append(data)
    assert statuses[-1]["status"] == "succeeded" and statuses[-1]["progress"] == 100
    assert all(s["status"] in ("queued", "running") for s in statuses[:-1])


async def _insert_orphan(ctx, file_id: str, attempts: int) -> str:
    """A job a dead worker left running: its lease ran out a minute ago."""
    async with ctx.sessionmaker() as session:
        source = await session.get(File, file_id)
    row = Conversion(user_id=None, session_id=source.session_id, owner_key=f"session:{source.session_id}",
                     file_id=file_id, from_format="txt", to_format="md", converter="upper_text", via=[],
                     options={}, status="running", attempts=attempts, claimed_by="dead-worker:1",
                     lease_until=utcnow() - dt.timedelta(minutes=1), started_at=utcnow())
    await store.insert(ctx, row)
    return row.id


async def test_racing_claimers_take_each_queued_job_exactly_once(api, anclora_ctx):
    await anclora_ctx.state("jobs").pop("executor").stop(grace=0)  # only the claimers below take jobs
    file_id = await api.upload("many.txt", b"queued")
    async with anclora_ctx.sessionmaker() as session:
        source = await session.get(File, file_id)
    queued = []
    for _ in range(12):
        row = Conversion(user_id=None, session_id=source.session_id, owner_key=f"session:{source.session_id}",
                         file_id=file_id, from_format="txt", to_format="md", converter="upper_text", via=[],
                         options={}, status="queued")
        queued.append((await store.insert(anclora_ctx, row)).id)

    async def claimer(worker_id: str, slots: int) -> list[str]:
        taken = []
        while rows := await store.claim(anclora_ctx, worker_id, 60, limit=slots):
            assert len(rows) <= slots
            assert all(row.claimed_by == worker_id and row.status == "running" and row.attempts == 1 for row in rows)
            taken += [row.id for row in rows]
        return taken

    taken = await asyncio.gather(*(claimer(f"worker-{n}", slots=n + 1) for n in range(4)))
    claimed = [conversion_id for ids in taken for conversion_id in ids]
    assert sorted(claimed) == sorted(queued)  # every job once, none twice, none left behind
    for worker, ids in enumerate(taken):
        for conversion_id in ids:
            assert (await store.get(anclora_ctx, conversion_id)).claimed_by == f"worker-{worker}"


async def test_restart_requeues_a_lost_job_and_it_ends_once(api, anclora_ctx, sample):
    file_id = await api.upload("lost.txt", b"again")
    conversion_id = await _insert_orphan(anclora_ctx, file_id, attempts=1)
    (anclora_ctx.storage.scratch / "work" / f"{conversion_id}.1").mkdir(parents=True)
    executors = [Executor(anclora_ctx) for _ in range(2)]  # two workers starting up race for it
    await asyncio.gather(*(executor.start() for executor in executors))
    try:
        done = await api.wait(conversion_id, "succeeded")
    finally:
        await asyncio.gather(*(executor.stop(1.0) for executor in executors))
    assert done["attempts"] == 2
    assert [e[0] for e in sample.EVENTS if e[0] in ("started", "finished", "failed")] == ["started", "finished"]
    assert not (anclora_ctx.storage.scratch / "work" / f"{conversion_id}.1").exists()


async def test_restart_fails_a_job_out_of_attempts_as_worker_lost(api, anclora_ctx, sample):
    file_id = await api.upload("poison.txt", b"again")
    conversion_id = await _insert_orphan(anclora_ctx, file_id, attempts=anclora_ctx.settings.job_attempts)
    executor = Executor(anclora_ctx)
    await executor.start()
    await executor.stop(1.0)
    done = await api.wait(conversion_id, "failed")
    assert done["error"]["code"] == "worker_lost"
    assert [e[0] for e in sample.EVENTS] == ["failed"]


async def test_stopping_hands_running_jobs_back_to_the_queue(api, anclora_ctx, sample):
    job = await api.convert("rows.csv", b"a,b\n", "json")
    await api.wait(job["id"], "running")
    pids = await until(lambda: len(sample.PIDS) == 2 and list(sample.PIDS), what="engine pids")
    await until(lambda: any(event[0] == "progress" for event in sample.EVENTS), what="progress hook")
    executor = anclora_ctx.state("jobs").pop("executor")
    await executor.stop(grace=0.2)  # what SIGTERM does once the grace period is over
    assert await all_dead(pids)
    back = (await api.client.get(f"/api/conversions/{job['id']}")).json()
    assert back["status"] == "queued" and back["attempts"] == 0
    assert [event[0] for event in sample.EVENTS] == ["queued", "started", "progress"]
    assert work_folders(anclora_ctx) == []
    await api.client.delete(f"/api/conversions/{job['id']}")


async def test_a_conversion_stuck_in_authorization_fails_on_recovery(api, anclora_ctx, sample):
    file_id = await api.upload("stuck.txt", b"x")
    async with anclora_ctx.sessionmaker() as session:
        source = await session.get(File, file_id)
    row = Conversion(session_id=source.session_id, owner_key=f"session:{source.session_id}", file_id=file_id,
                     from_format="txt", to_format="md", converter="upper_text", via=[], options={},
                     status="pending", created_at=utcnow() - store.PENDING_TIMEOUT - dt.timedelta(seconds=1))
    await store.insert(anclora_ctx, row)
    await anclora_ctx.state("jobs")["executor"].recover()
    done = await api.wait(row.id, "failed")
    assert done["error"]["code"] == "authorization_interrupted"
    assert [e[0] for e in sample.EVENTS] == ["failed"]


async def test_a_restart_on_the_same_host_recovers_at_once(api, anclora_ctx, sample):
    """The previous process is gone (its pid no longer exists): no waiting for its lease to run out."""
    file_id = await api.upload("restart.txt", b"again")
    conversion_id = await _insert_orphan(anclora_ctx, file_id, attempts=1)
    gone = subprocess.Popen(["true"])
    gone.wait()
    await store.transition(anclora_ctx, conversion_id, {}, claimed_by=f"{socket.gethostname()[:60]}:{gone.pid}:0",
                           lease_until=utcnow() + dt.timedelta(minutes=5))
    executor = Executor(anclora_ctx)
    await executor.start()
    try:
        done = await api.wait(conversion_id, "succeeded")
    finally:
        await executor.stop(1.0)
    assert done["attempts"] == 2


async def test_an_input_deleted_while_queued_fails_its_conversion(api, client, anclora_ctx, sample):
    """The claim reads the input file's row itself: a file deleted while its conversion waited is gone for it."""
    await anclora_ctx.state("jobs").pop("executor").stop(grace=0)  # nothing claims it while queued
    job = await api.convert("gone.txt", b"soon deleted", "md")
    assert (await client.delete(f"/api/files/{job['file_id']}")).status_code == 204
    executor = Executor(anclora_ctx)
    await executor.start()
    try:
        done = await api.wait(job["id"], "failed", "succeeded")
    finally:
        await executor.stop(1.0)
    assert done["status"] == "failed"
    assert done["error"] == {"code": "conversion_failed", "message": "The input file no longer exists."}
    assert done["result_file_id"] is None and work_folders(anclora_ctx) == []
    assert [event[0] for event in sample.EVENTS] == ["queued", "started", "failed"]
