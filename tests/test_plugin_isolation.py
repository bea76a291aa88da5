"""A third-party plugin whose listeners raise never keeps the other plugins from hearing an event: the caller's
job slot is freed, `GET /api/me` still answers, and a shutdown still drains the executor and closes the pools."""

import logging

import pytest
from plugin_folders import JOBS, RAISING, bundled_plugin_names

from anclora.engines import zygote
from anclora.server import build_context, close, start


@pytest.fixture
def anclora_overrides():
    return {"plugins_dirs": [str(JOBS), str(RAISING)], "plugins_block": bundled_plugin_names(),
            "plan_limits": {"anonymous": {"concurrent_jobs": 1}}, "shutdown_grace": 2.0}


def calls(ctx) -> list[str]:
    return ctx.pm.get_plugin("raising_listener").CALLS


async def test_a_raising_listener_does_not_keep_the_job_slot_taken(client, anclora_ctx, caplog):
    caplog.set_level(logging.ERROR, "anclora.plugins")
    for _attempt in range(3):  # one job at a time: each one-shot conversion needs the slot the last one freed
        response = await client.post("/api/convert?to=md&filename=a.txt", content=b"again and again")
        assert response.status_code == 200, response.text
        assert response.content == b"AGAIN AND AGAIN"
    assert calls(anclora_ctx).count("finished") == 3
    assert "plugin 'raising_listener' failed in anclora_conversion_finished" in caplog.text
    assert "ListenerBroke" in caplog.text  # with what it raised, for its author


async def test_a_raising_listener_leaves_me_to_the_others(client, anclora_ctx):
    me = (await client.get("/api/me")).json()
    assert me["limits"]["concurrent_jobs"] == 1  # from the accounts plugin, which runs after the broken one
    assert "me" in calls(anclora_ctx)


async def test_a_raising_shutdown_does_not_skip_draining_and_closing(anclora_settings):
    ctx = build_context(anclora_settings)
    await start(ctx)
    assert ctx.state("jobs")["executor"] is not None
    assert zygote.SERVICE in ctx.engine_pools.for_converter("upper_text")
    await close(ctx)
    assert calls(ctx)[-1] == "shutdown"  # called first (the last plugin registered), and it raised
    assert "executor" not in ctx.state("jobs")  # the jobs plugin still drained its executor
    assert ctx.engine_pools.for_converter("upper_text") == {}  # and closed the warm workers
