"""A one-shot conversion (`POST /api/convert`) with a free slot here and nothing waiting starts at once, without
the queue or the claiming loop; a busy executor, a waiting queue or an owner at its limit still queue or refuse it,
and `POST /api/conversions` still answers `queued`."""

import asyncio

import httpx
import pytest
from job_api import Api, until
from sqlalchemy import event

from anclora.jobs.executor import Executor

LIMITS = {"anonymous": {"concurrent_jobs": 1, "uploads_per_minute": 1000, "conversions_per_day": 1000}}


@pytest.fixture
def anclora_overrides(anclora_overrides, request):
    overrides = {**anclora_overrides, "workers": 1, "plan_limits": LIMITS, "sync_timeout": 10.0}
    if getattr(request, "param", None) == "no claiming loop":  # an executor is made by the test, never started
        overrides["plugins_block"] = overrides["plugins_block"] + ["jobs"]
    return overrides


@pytest.fixture
async def idle_executor(anclora_ctx):
    """An executor whose claiming loop never runs: only what starts at once runs on it."""
    executor = anclora_ctx.state("jobs")["executor"] = Executor(anclora_ctx)
    yield executor
    await executor.stop(2.0)
    anclora_ctx.state("jobs").pop("executor")


def statements_of(ctx) -> list[str]:
    """Every SQL statement the application runs from now on."""
    seen: list[str] = []
    event.listen(ctx.engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: seen.append(statement))
    return seen


async def listed(client) -> dict[str, str]:
    return {c["id"]: c["status"] for c in (await client.get("/api/conversions")).json()["conversions"]}


def hooks_of(sample, conversion_id: str) -> list[str]:
    return [hook for hook, seen_id, _ in sample.EVENTS if seen_id == conversion_id]


@pytest.mark.parametrize("anclora_overrides", ["no claiming loop"], indirect=True)
async def test_a_one_shot_on_a_free_slot_starts_without_the_claiming_loop(client, anclora_ctx, idle_executor,
                                                                           sample):
    statements = statements_of(anclora_ctx)
    response = await client.post("/api/convert?to=md&filename=hi.txt&cache=false", content=b"hi")
    assert response.status_code == 200, response.text
    assert response.content == b"HI"
    assert not [s for s in statements if s.lstrip().startswith("WITH chosen")]  # (the claim's fair-share CTE)
    [(conversion_id, status)] = (await listed(client)).items()
    assert status == "succeeded"
    # plugins hear it was accepted (an accounts slot is held), then that it started
    assert hooks_of(sample, conversion_id) == ["queued", "started", "finished"]
    assert not idle_executor.tasks and idle_executor._free() == 1


@pytest.mark.parametrize("anclora_overrides", ["no claiming loop"], indirect=True)
async def test_conversions_api_still_queues_and_a_one_shot_waits_behind_the_queue(client, anclora_server,
                                                                                  idle_executor):
    queued = await Api(client).convert("a.txt", b"first", "md")
    assert queued["status"] == "queued"  # a free slot changes nothing here: API.md promises `queued`
    assert (await client.get(f"/api/conversions/{queued['id']}")).json()["status"] == "queued"
    async with httpx.AsyncClient(base_url=anclora_server) as other:  # another owner: its own concurrent slot
        await other.get("/api/me")  # (its session)
        one_shot = asyncio.create_task(other.post("/api/convert?to=md&filename=b.txt&cache=false",
                                                  content=b"second"))
        [(_, status)] = (await _until_listed(other, 1)).items()
        assert status == "queued"  # it did not jump the conversion waiting before it
        await idle_executor.start()  # now the claiming loop serves the queue in its order
        response = await one_shot
    assert response.status_code == 200 and response.content == b"SECOND"
    await Api(client).wait(queued["id"], "succeeded")


async def _until_listed(client, count: int) -> dict[str, str]:
    deadline = asyncio.get_running_loop().time() + 15
    while len(statuses := await listed(client)) < count:
        assert asyncio.get_running_loop().time() < deadline, statuses
        await asyncio.sleep(0.02)
    return statuses


async def test_a_one_shot_queues_while_every_slot_is_busy(client, anclora_server, tmp_path, sample):
    gate = tmp_path / "gate"
    gate.mkdir()
    held = await Api(client).convert("held.rst", b"held", "txt", options={"gate": str(gate)})
    await until(lambda: (gate / "started").exists(), 15, "the held conversion to start")
    async with httpx.AsyncClient(base_url=anclora_server) as other:  # another owner: its own concurrent slot
        await other.get("/api/me")  # (its session)
        one_shot = asyncio.create_task(other.post("/api/convert?to=md&filename=b.txt&cache=false", content=b"next"))
        [(waiting, status)] = (await _until_listed(other, 1)).items()
        assert status == "queued"  # the one slot is busy: it waits in the queue
        (gate / "held").touch()
        response = await one_shot
    assert response.status_code == 200 and response.content == b"NEXT"
    assert hooks_of(sample, waiting) == ["queued", "started", "finished"]
    await Api(client).wait(held["id"], "succeeded")


async def test_an_owner_at_its_limit_is_refused_a_one_shot(client, tmp_path):
    gate = tmp_path / "gate"
    gate.mkdir()
    held = await Api(client).convert("held.rst", b"held", "txt", options={"gate": str(gate)})
    await until(lambda: (gate / "started").exists(), 15, "the held conversion to start")
    refused = await client.post("/api/convert?to=md&filename=b.txt&cache=false", content=b"next")
    assert refused.status_code == 429 and refused.json()["error"]["details"] == {"limit": "concurrent_jobs"}
    (gate / "held").touch()
    await Api(client).wait(held["id"], "succeeded")


@pytest.fixture
def fsynced_parts(fsynced, anclora_ctx):
    """The files of the storage's tmp/ folder this process has fsynced when called: the upload writer's and the
    result import's, both fsynced there before their rename into place."""
    folder = str(anclora_ctx.storage.tmp_dir)
    return lambda: [path for path in fsynced if path.startswith(folder)]


@pytest.mark.parametrize("anclora_storage", ["local"], indirect=True)  # fsyncs of the local folder's files
async def test_only_a_result_that_outlives_its_request_is_fsynced(client, fsynced_parts):
    response = await client.post("/api/convert?to=md&filename=a.txt&cache=false", content=b"passing")
    assert response.status_code == 200 and response.content == b"PASSING"
    assert fsynced_parts() == []  # the input and the result are removed once it is answered
    response = await client.post("/api/convert?to=md&filename=b.txt", content=b"cached")
    assert response.status_code == 200 and response.content == b"CACHED"
    assert len(fsynced_parts()) == 1  # the result, kept for the result cache (the input is not)
    queued = await Api(client).convert("c.txt", b"kept", "md", cache=False)
    await Api(client).wait(queued["id"], "succeeded")
    assert len(fsynced_parts()) == 3  # a stored upload, and the result its owner downloads later
    assert (await client.get(f"/api/conversions/{queued['id']}/result")).content == b"KEPT"
