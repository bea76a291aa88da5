"""The result cache: a repeated conversion reuses the earlier result at once, unless something that shapes the
output changed, the result expired or was deleted, or the caller asked for a fresh one."""

import datetime as dt

import httpx
import pytest
from sqlalchemy import delete, select, update

from anclora import hookimpl
from anclora.db.base import utcnow
from anclora.db.models import File
from anclora.errors import PaymentRequired
from rawhttp import eventually
from storage_state import remove_object, stored_keys

pytestmark = pytest.mark.storage_backends

WORDS = b"same words"


async def cache_lookups(client) -> dict[str, float]:
    lines = (await client.get("/api/metrics")).text.splitlines()
    prefix = "anclora_result_cache_lookups_total{outcome="
    return {line[len(prefix) + 1:].split('"')[0]: float(line.split()[-1]) for line in lines if line.startswith(prefix)}


def started(sample, conversion_id: str) -> bool:
    return any(hook == "started" and job == conversion_id for hook, job, _ in sample.EVENTS)


async def computed(api, filename: str, data: bytes, to: str = "md", **body) -> dict:
    job = await api.convert(filename, data, to, **body)
    done = await api.wait(job["id"], "succeeded", "failed")
    assert done["status"] == "succeeded" and done["cached"] is False, done
    return done


async def test_a_repeated_conversion_is_answered_at_once_without_an_engine(api, client, sample, anclora_ctx):
    first = await computed(api, "a.txt", WORDS, options={"repeat": 2})
    again = await api.convert("b.txt", WORDS, "md", options={"repeat": 2})
    # the creating request itself answers succeeded: nothing was queued
    assert again["status"] == "succeeded" and again["cached"] is True and again["cost"] == 0
    assert first["cost"] == 2 and not started(sample, again["id"])
    assert again["result_file_id"] != first["result_file_id"]
    result = await client.get(f"/api/conversions/{again['id']}/result")
    assert result.content == b"SAME WORDSSAME WORDS"
    assert result.headers["content-disposition"].startswith('attachment; filename="b.md"')
    assert await cache_lookups(client) == {"hit": 1, "miss": 1}
    # each copy is its owner's own: deleting the reused one leaves the original whole
    assert (await client.delete(f"/api/files/{again['result_file_id']}")).status_code == 204
    original = await client.get(f"/api/conversions/{first['id']}/result")
    assert original.content == b"SAME WORDSSAME WORDS"


async def test_changed_options_new_versions_or_cache_false_convert_again(api, anclora_ctx):
    await computed(api, "a.txt", WORDS, options={"repeat": 2})
    await computed(api, "b.txt", WORDS, options={"repeat": 3})
    await computed(api, "c.txt", WORDS, options={"repeat": 2}, cache=False)
    anclora_ctx.converters["upper_text"].version = "2"  # the plugin ships a converter whose output changed
    await computed(api, "d.txt", WORDS, options={"repeat": 2})
    again = await api.convert("e.txt", WORDS, "md", options={"repeat": 2})
    assert again["cached"] is True  # the new version's result is reused in its turn
    anclora_ctx.converters["upper_text"].engine_version = lambda: "engine 2"  # its engine was upgraded
    await computed(api, "f.txt", WORDS, options={"repeat": 2})


async def test_an_expired_or_deleted_result_is_not_reused(api, client, anclora_ctx):
    first = await computed(api, "a.txt", WORDS)
    async with anclora_ctx.sessionmaker() as session:
        await session.execute(update(File).where(File.id == first["result_file_id"])
                              .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        await session.commit()
    second = await computed(api, "b.txt", WORDS)
    assert (await client.delete(f"/api/files/{second['result_file_id']}")).status_code == 204
    await computed(api, "c.txt", WORDS)


async def test_cache_must_be_a_boolean(api, client):
    file_id = await api.upload("a.txt", WORDS)
    response = await client.post("/api/conversions", json={"file_id": file_id, "to": "md", "cache": "no"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"
    one_shot = await client.post("/api/convert?to=md&cache=maybe", content=WORDS)
    assert one_shot.status_code == 400 and "cache" in one_shot.json()["error"]["message"]


async def test_one_shot_conversions_share_the_cache_and_show_nothing_kept(client, anclora_ctx, sample):
    first = await client.post("/api/convert?to=md&filename=a.txt", content=WORDS)
    second = await client.post("/api/convert?to=md&filename=b.txt", content=WORDS)
    assert first.content == second.content == b"SAME WORDS"
    assert second.headers["content-disposition"].startswith('attachment; filename="b.md"')
    listed = (await client.get("/api/conversions")).json()["conversions"]
    assert [c["cached"] for c in listed] == [True, False]  # newest first
    assert (await client.get("/api/files")).json()["files"] == []  # the kept result is hidden from its owner
    await eventually(lambda: _count_is(stored_keys(anclora_ctx), 1))  # ... and it is all that is kept
    refused = await client.post("/api/convert?to=md&filename=c.txt&cache=false", content=b"other words")
    assert refused.status_code == 200
    assert [c["cached"] for c in (await client.get("/api/conversions")).json()["conversions"]][0] is False


async def _count_is(listing, count: int) -> bool:
    return len(await listing) == count


async def file_rows(ctx) -> list[File]:
    async with ctx.sessionmaker() as session:
        return list(await session.scalars(select(File)))


async def test_a_one_shot_hit_stores_nothing_and_names_no_file(client, anclora_ctx, sample):
    await client.post("/api/convert?to=md&filename=a.txt", content=WORDS)
    [kept] = await file_rows(anclora_ctx)  # the computed result, hidden for the cache
    hit = await client.post("/api/convert?to=md&filename=b.txt", content=WORDS)
    assert hit.status_code == 200 and hit.content == b"SAME WORDS"
    assert hit.headers["etag"] == f'"{kept.sha256}"' and hit.headers["content-type"].startswith("text/markdown")
    # no row for the input nor for a copy of the result, and no bytes but the kept result's
    assert [row.id for row in await file_rows(anclora_ctx)] == [kept.id]
    assert await stored_keys(anclora_ctx) == [kept.storage_key]
    cached, computed = (await client.get("/api/conversions")).json()["conversions"]
    assert (cached["cached"], cached["status"], cached["file_id"], cached["result_file_id"]) == (
        True, "succeeded", None, None)
    assert cached["started_at"] == cached["finished_at"] and computed["cached"] is False
    assert await cache_lookups(client) == {"hit": 1, "miss": 1}
    assert not started(sample, cached["id"])
    assert ("finished", cached["id"], 100) in sample.EVENTS  # the plugins hear of it as of any conversion


async def test_a_one_shot_whose_cached_bytes_are_gone_converts_again(client, anclora_ctx, sample):
    await client.post("/api/convert?to=md&filename=a.txt", content=WORDS)
    [kept] = await file_rows(anclora_ctx)
    await remove_object(anclora_ctx, kept.storage_key)  # as cleanup leaves it for a moment: the row, no bytes
    again = await client.post("/api/convert?to=md&filename=b.txt", content=WORDS)
    assert again.status_code == 200 and again.content == b"SAME WORDS"
    latest = (await client.get("/api/conversions")).json()["conversions"][0]
    assert latest["cached"] is False and started(sample, latest["id"])
    assert await cache_lookups(client) == {"miss": 2}
    third = await client.post("/api/convert?to=md&filename=c.txt", content=WORDS)  # the new result is reused
    assert third.content == b"SAME WORDS" and await cache_lookups(client) == {"hit": 1, "miss": 2}


class DeletesEveryFile:
    """While a cached conversion is being authorized (its result's bytes are open by then, its answer not yet
    sent), every file goes, rows and bytes, as a concurrent DELETE or an expiry would take the result."""

    @hookimpl
    def anclora_authorize_conversion(self, ctx, identity, conversion):
        return self.delete_all(ctx) if conversion["cached"] else None

    async def delete_all(self, ctx) -> None:
        async with ctx.sessionmaker() as session:
            keys = list(await session.scalars(select(File.storage_key)))
            await session.execute(delete(File))
            await session.commit()
        for key in keys:
            await ctx.storage.delete(key)


@pytest.mark.parametrize("anclora_overrides", [{"chunk_size": 4}], indirect=True)  # the answer in 3 chunks
async def test_a_cached_result_deleted_once_opened_is_still_sent_whole(client, anclora_ctx):
    await client.post("/api/convert?to=md&filename=a.txt", content=WORDS)
    anclora_ctx.pm.register(DeletesEveryFile(), name="deletes_every_file")
    hit = await client.post("/api/convert?to=md&filename=b.txt", content=WORDS)
    assert hit.status_code == 200 and hit.content == b"SAME WORDS"
    assert await file_rows(anclora_ctx) == [] and await stored_keys(anclora_ctx) == []
    assert [c["cached"] for c in (await client.get("/api/conversions")).json()["conversions"]] == [True, False]


class RefusesCachedConversions:
    def __init__(self) -> None:
        self.asked: list[dict] = []

    @hookimpl
    def anclora_authorize_conversion(self, ctx, identity, conversion):
        self.asked.append(dict(conversion))
        if conversion["cached"]:
            raise PaymentRequired("Cached answers are not for you.")


async def test_a_refused_one_shot_hit_leaves_no_conversion_and_the_result_whole(client, anclora_ctx):
    await client.post("/api/convert?to=md&filename=a.txt", content=WORDS)
    [kept] = await file_rows(anclora_ctx)
    refusing = RefusesCachedConversions()
    anclora_ctx.pm.register(refusing, name="refuses_cached")
    refused = await client.post("/api/convert?to=md&filename=b.txt", content=WORDS)
    assert refused.status_code == 402 and refused.json()["error"]["code"] == "payment_required"
    assert [c["cached"] for c in (await client.get("/api/conversions")).json()["conversions"]] == [False]
    assert [row.id for row in await file_rows(anclora_ctx)] == [kept.id]
    assert await stored_keys(anclora_ctx) == [kept.storage_key]
    [asked] = refusing.asked
    assert (asked["cached"], asked["file_id"], asked["cost"]) == (True, None, 0)


async def test_owners_do_not_share_results_by_default(api, anclora_server):
    await computed(api, "a.txt", WORDS)
    async with httpx.AsyncClient(base_url=anclora_server) as other:  # another anonymous session
        upload = await other.post("/api/files?filename=a.txt", content=WORDS)
        job = await other.post("/api/conversions", json={"file_id": upload.json()["id"], "to": "md"})
        assert job.json()["cached"] is False


@pytest.fixture
def anclora_overrides(anclora_overrides, request):
    return {**anclora_overrides, **getattr(request, "param", {})}


@pytest.mark.parametrize("anclora_overrides", [{"cache_scope": "global"}], indirect=True)
async def test_global_scope_shares_the_bytes_and_nothing_else(api, anclora_server):
    first = await computed(api, "mine.txt", WORDS)
    async with httpx.AsyncClient(base_url=anclora_server) as other:
        upload = await other.post("/api/files?filename=theirs.txt", content=WORDS)
        job = (await other.post("/api/conversions", json={"file_id": upload.json()["id"], "to": "md"})).json()
        assert job["cached"] is True and job["status"] == "succeeded"
        assert first["id"] not in str(job) and first["result_file_id"] not in str(job)
        result = await other.get(f"/api/conversions/{job['id']}/result")
        assert result.content == b"SAME WORDS"
        assert result.headers["content-disposition"].startswith('attachment; filename="theirs.md"')
        assert (await other.get(f"/api/files/{first['result_file_id']}")).status_code == 404


@pytest.mark.parametrize("anclora_overrides", [{"cache_scope": "off"}], indirect=True)
async def test_scope_off_never_reuses(api):
    await computed(api, "a.txt", WORDS)
    await computed(api, "b.txt", WORDS)
