"""How long files are kept follows the caller's plan."""

import datetime as dt

import pytest


def kept_for(created: dict) -> float:
    parse = lambda value: dt.datetime.fromisoformat(value.replace("Z", "+00:00"))  # noqa: E731
    return (parse(created["expires_at"]) - parse(created["created_at"])).total_seconds()


@pytest.fixture
def anclora_overrides():
    return {"plan_limits": {"anonymous": {"retention_seconds": 90}}, "anonymous_retention": 3600}


async def test_a_plan_row_sets_how_long_uploads_are_kept(client, anclora_ctx):
    created = (await client.post("/api/files", content=b"kept briefly")).json()
    assert kept_for(created) == pytest.approx(90, abs=1)
    me = (await client.get("/api/me")).json()
    assert me["limits"]["retention_seconds"] == 90


async def test_without_a_plan_answer_the_settings_apply(anclora_ctx):
    from anclora.identity import Identity

    anonymous = Identity(address="127.0.0.1", session_id="s" * 64)
    signed_in = Identity(address="127.0.0.1", user_id="u", level=1, plan="free")
    assert anclora_ctx.pm.hook.anclora_file_retention(ctx=anclora_ctx, identity=anonymous) == 90
    assert anclora_ctx.pm.hook.anclora_file_retention(ctx=anclora_ctx, identity=signed_in) == \
        anclora_ctx.settings.user_retention
