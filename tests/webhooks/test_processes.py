"""Deliveries outlive the process that queued them, and several servers on one database send each once."""

import asyncio
import json
from collections import Counter

import httpx
import pytest
from job_api import Api
from webhook_helpers import SAMPLE_PLUGINS, bundled_plugin_names, signed_in, until_async
from server_process import ServerProcess


def start_server(tmp_path, database_url: str, storage: dict[str, str], name: str, backoff: float) -> ServerProcess:
    folder = tmp_path / name
    folder.mkdir()
    return ServerProcess(folder, database_url, **storage,  # (the test's upload folder, or its bucket)
                         ANCLORA_PLUGINS_DIRS=str(SAMPLE_PLUGINS),
                         ANCLORA_PLUGINS_BLOCK=",".join(bundled_plugin_names() + ["billing"]),
                         ANCLORA_WEBHOOK_PRIVATE_TARGETS="true", ANCLORA_WEBHOOK_BACKOFF_SECONDS=str(backoff),
                         ANCLORA_WEBHOOK_POLL_SECONDS="0.1", ANCLORA_SHUTDOWN_GRACE="5",
                         # (without Redis each server counts running jobs on its own, and either may run one)
                         ANCLORA_PLAN_LIMITS='{"free": {"concurrent_jobs": 100}}')


@pytest.fixture
def servers(tmp_path, anclora_database_url, anclora_storage_environ):
    started = []

    async def start(name: str, backoff: float) -> ServerProcess:
        server = start_server(tmp_path, anclora_database_url, anclora_storage_environ, name, backoff)
        started.append(server)
        await asyncio.to_thread(server.wait_ready)  # (the listener in this loop keeps answering meanwhile)
        return server
    yield start
    for server in started:
        server.stop()


async def test_a_restart_between_attempts_loses_nothing(servers, listener):
    listener.statuses = [503]
    first = await servers("first", backoff=2.0)
    async with httpx.AsyncClient(base_url=first.url, timeout=30) as client:
        await signed_in(client)
        conversion = await Api(client).convert("note.txt", b"restart", "md", webhook_url=listener.url)
        await listener.wait_for(1)
        token = client.headers["Authorization"]
    await asyncio.to_thread(first.stop)

    second = await servers("second", backoff=2.0)
    attempt, retry = await listener.wait_for(2)
    assert attempt.body == retry.body and json.loads(retry.body)["conversion"]["id"] == conversion["id"]
    async with httpx.AsyncClient(base_url=second.url, timeout=30, headers={"Authorization": token}) as client:
        async def delivered():
            listed = (await client.get("/api/webhooks/deliveries")).json()["deliveries"]
            return listed if listed and listed[0]["status"] == "delivered" else None
        [delivery] = await until_async(delivered)
        log = (await client.get(f"/api/webhooks/deliveries/{delivery['id']}")).json()["attempt_log"]
    assert [attempt["status_code"] for attempt in log] == [503, 200]


async def test_two_servers_on_one_database_send_each_attempt_once(servers, listener):
    """Every first attempt fails, so the retries fall due while both servers are polling for them."""
    count = 12
    listener.first_answer = 500
    one = await servers("one", backoff=1.0)
    await servers("two", backoff=1.0)  # polling the same database for the same due retries
    async with httpx.AsyncClient(base_url=one.url, timeout=30) as client:
        await signed_in(client)
        api = Api(client)
        ids = []
        for index in range(count):
            ids.append((await api.convert(f"n{index}.txt", b"twice", "md", webhook_url=listener.url))["id"])
            await api.wait(ids[-1], "succeeded")
        received = await listener.wait_for(2 * count, timeout=60)

        async def all_delivered():
            listed = (await client.get("/api/webhooks/deliveries")).json()["deliveries"]
            return listed if len(listed) == count and all(d["status"] == "delivered" for d in listed) else None
        listed = await until_async(all_delivered, timeout=30)
    per_conversion = Counter(json.loads(request.body)["conversion"]["id"] for request in listener.received)
    assert per_conversion == {conversion_id: 2 for conversion_id in ids}
    assert all(delivery["attempts"] == 2 for delivery in listed)
    assert len(received) == 2 * count
