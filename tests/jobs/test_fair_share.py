"""Fair share: a tenant's long batch does not hold up another tenant's single conversion, in one process or in
several worker processes; a queued conversion's position counts down to 0."""

import asyncio
import os
import signal
import sys
from contextlib import aclosing
from pathlib import Path

import httpx
import pytest
from job_api import Api, until
from sse import sse_events

from anclora.db.models import File
from anclora.identity import Identity
from anclora.testing import TEST_JWT_SECRET, storage_environ
from plugin_folders import JOBS, bundled_plugin_names

LIMITS = {"anonymous": {"concurrent_jobs": 20, "uploads_per_minute": 1000, "conversions_per_day": 1000}}


class Gate:
    """The held_rst converter's gate: which conversions started, in order, and releasing them one by one."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir()

    def started(self) -> list[str]:
        log = self.folder / "started"
        return log.read_text().split() if log.exists() else []

    def release(self, label: str) -> None:
        (self.folder / label).touch()

    async def release_in_turn(self, count: int) -> list[str]:
        """Let each conversion finish once it has started, until `count` have started; the order they started."""
        released = 0
        while released < count:
            started = await until(lambda done=released: len(self.started()) > done and self.started(), 30,
                                  f"conversion {released + 1} of {count} to start")
            for label in started[released:]:
                self.release(label)
            released = len(started)
        return self.started()

    async def release_oldest_in_turn(self, count: int) -> list[str]:
        """Let one conversion finish at a time, the oldest started first, and wait for the next to start, until
        `count` have started: with several workers, each claim then happens alone, so the order the conversions
        start in is the order they were claimed in. The order they started."""
        released = 0
        while len(started := self.started()) < count:
            self.release(started[released])
            released += 1
            await until(lambda before=len(started): len(self.started()) > before, 30,
                        f"conversion {len(started) + 1} of {count} to start")
        for label in self.started()[released:]:
            self.release(label)
        return self.started()


async def queue(client, label: str, gate: Gate) -> dict:
    upload = await client.post(f"/api/files?filename={label}.rst", content=label.encode())
    assert upload.status_code == 201, upload.text
    job = await client.post("/api/conversions", json={"file_id": upload.json()["id"], "to": "txt",
                                                      "options": {"gate": str(gate.folder)}})
    assert job.status_code == 202, job.text
    return job.json()


async def queue_position(client, conversion_id: str) -> int | None:
    return (await client.get(f"/api/conversions/{conversion_id}")).json()["queue_position"]


@pytest.fixture
def anclora_overrides(anclora_overrides, request):
    overrides = {**anclora_overrides, "workers": 1, "plan_limits": LIMITS}
    if getattr(request, "param", None) == "queue only":  # no executor in the server: worker processes convert
        overrides["plugins_block"] = overrides["plugins_block"] + ["jobs"]
    return overrides


async def test_a_single_conversion_waits_for_at_most_two_of_a_batch(client, anclora_server, tmp_path):
    gate = Gate(tmp_path / "gate")
    batch = [await queue(client, f"A{n}", gate) for n in range(12)]
    await until(lambda: gate.started() == ["A0"], what="the batch's first conversion to start")
    async with httpx.AsyncClient(base_url=anclora_server) as other:  # another tenant (anonymous session)
        single = await queue(other, "B", gate)
        assert await queue_position(other, single["id"]) == 0
        last = batch[-1]["id"]
        positions = [await queue_position(client, last)]
        assert positions == [11]  # B, then A1..A10
        order = []
        while len(order) < 13:
            order = await gate.release_in_turn(len(order) + 1)
            positions.append(await queue_position(client, last))
    assert order.index("B") <= 2, (order, positions)  # first come, first served would put it last
    queued = [position for position in positions if position is not None]
    assert queued == sorted(queued, reverse=True) and queued[-1] == 0 and len(set(queued)) > 5, positions


async def test_an_owner_of_weight_two_gets_two_turns_for_each_of_weight_one(client, anclora_server, anclora_ctx,
                                                                          sample, tmp_path):
    gate = Gate(tmp_path / "gate")
    [await queue(client, f"A{n}", gate) for n in range(6)]
    await until(lambda: gate.started() == ["A0"], what="the first conversion to start")
    async with httpx.AsyncClient(base_url=anclora_server) as heavy:
        file_id = (await heavy.post("/api/files?filename=w.txt", content=b"w")).json()["id"]
        async with anclora_ctx.sessionmaker() as session:
            owner = Identity(address="127.0.0.1", session_id=(await session.get(File, file_id)).session_id)
        sample.WEIGHTS[owner.owner_key] = 2
        assert anclora_ctx.pm.hook.anclora_queue_weight(ctx=anclora_ctx, identity=owner) == 2
        [await queue(heavy, f"W{n}", gate) for n in range(6)]
        order = await gate.release_in_turn(12)
    assert [label[0] for label in order[:10]] == list("AWWAWWAWWA"), order


async def test_the_event_stream_counts_the_position_down(client, tmp_path):
    gate = Gate(tmp_path / "gate")
    jobs = [await queue(client, f"C{n}", gate) for n in range(3)]
    await until(lambda: gate.started() == ["C0"], what="the first conversion to start")
    seen = []
    async with aclosing(sse_events(client, f"/api/conversions/{jobs[2]['id']}/events")) as events:
        async for _, data in events:
            seen.append((data["status"], data["queue_position"]))
            if data["status"] == "queued":
                assert data["estimated_start_at"].endswith("Z")
                gate.release(gate.started()[-1])  # the one running now
            elif data["status"] == "running":
                gate.release("C2")
    assert [position for status, position in seen if status == "queued"] == [1, 0]
    assert seen[-1] == ("succeeded", None)


def worker_env(settings) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANCLORA_", "DATABASE_URL"))}
    env.update(ANCLORA_PLUGINS_DIRS=str(JOBS), ANCLORA_PLUGINS_BLOCK=",".join(bundled_plugin_names()),
               ANCLORA_PLUGINS_ENTRYPOINTS="false", JWT_SECRET_KEY=TEST_JWT_SECRET, LOG_LEVEL="WARNING",
               DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url, ANCLORA_WORKERS="1",
               ANCLORA_SHUTDOWN_GRACE="2", **storage_environ(settings))
    return env


@pytest.mark.parametrize("anclora_overrides", ["queue only"], indirect=True)
async def test_two_worker_processes_share_fairly(client, anclora_server, anclora_settings, tmp_path):
    gate = Gate(tmp_path / "gate")
    batch = [await queue(client, f"A{n}", gate) for n in range(12)]
    workers = [await asyncio.create_subprocess_exec(sys.executable, "-m", "anclora", "worker", cwd=tmp_path,
                                                    env=worker_env(anclora_settings), stderr=asyncio.subprocess.PIPE)
               for _ in range(2)]
    try:
        await until(lambda: sorted(gate.started()) == ["A0", "A1"], 60, "each worker to take one of the batch")
        async with httpx.AsyncClient(base_url=anclora_server) as other:
            single = await queue(other, "B", gate)
            assert await queue_position(other, single["id"]) == 0
            order = await gate.release_oldest_in_turn(13)
        assert order.index("B") <= 2, order
        for job in batch:
            assert (await Api(client).wait(job["id"], "succeeded", "failed"))["status"] == "succeeded"
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            _, stderr = await asyncio.wait_for(worker.communicate(), 30)
            assert worker.returncode == 0, stderr.decode()
