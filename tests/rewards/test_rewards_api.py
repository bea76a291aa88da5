"""Points, levels, milestones, streaks and referrals earned by converting — over HTTP."""

import datetime as dt

from sqlalchemy import update

from anclora import plugins
from anclora.db.models import User
from anclora.identity import Identity
from billing.billing_helpers import credits, start, wait

TEXT = b"some text to convert\n"


async def convert(client, headers, times=1):
    for _ in range(times):
        response = await start(client, "a.txt", TEXT, "md", headers)
        assert response.status_code == 202, response.text
        await wait(client, response.json()["id"], "succeeded", headers=headers)


async def rewards(client, headers):
    response = await client.get("/api/rewards", headers=headers)
    assert response.status_code == 200
    return response.json()


async def test_converting_earns_points_levels_and_milestones(client, account):
    headers, _ = await account()
    await convert(client, headers)
    first = await rewards(client, headers)
    assert first["points"] == 10 and first["level"] == 1 and first["next_level_points"] == 30
    assert [(r["type"], r["credits"]) for r in first["rewards"]] == [("first_conversion", 5)]
    assert await credits(client, headers) == 5

    await convert(client, headers, times=9)
    after = await rewards(client, headers)
    assert after["points"] == 100 and after["level"] == 2 and after["conversions"] == 10
    assert {r["type"] for r in after["rewards"]} == {"first_conversion", "level_up", "conversions_10"}
    assert await credits(client, headers) == 5 + 10 + 10  # first, level 2 (5 x 2), ten conversions
    me = (await client.get("/api/me", headers=headers)).json()
    assert me["level"] == 2 and me["points"] == 100


async def test_unverified_accounts_earn_nothing(client, account):
    headers, _ = await account(verify=False)
    await convert(client, headers, times=2)
    summary = await rewards(client, headers)
    assert summary["points"] == 0 and summary["rewards"] == []
    assert await credits(client, headers) == 0


async def test_each_conversion_counts_once(client, account, anclora_ctx):
    headers, user = await account()
    response = await start(client, "a.txt", TEXT, "md", headers)
    done = await wait(client, response.json()["id"], "succeeded", headers=headers)
    await plugins.notify(anclora_ctx.pm, "anclora_conversion_finished", ctx=anclora_ctx, conversion=done,
                                owner=Identity(address="", user_id=user["id"]))
    assert (await rewards(client, headers))["points"] == 10


async def test_a_seven_day_streak_is_rewarded(client, account, anclora_ctx):
    headers, user = await account()
    yesterday = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    async with anclora_ctx.sessionmaker() as session:
        await session.execute(update(User).where(User.id == user["id"]).values(
            streak_days=6, last_conversion_on=yesterday))
        await session.commit()
    await convert(client, headers)
    summary = await rewards(client, headers)
    assert summary["streak_days"] == 7 and "daily_streak" in {r["type"] for r in summary["rewards"]}


async def test_referrals_pay_once_the_friend_is_verified_and_has_converted(client, account):
    referrer_headers, referrer = await account(address="10.0.0.1", email="alice@example.org")
    code = referrer["referral_code"]
    friend_headers, _ = await account(address="10.0.0.2", referral_code=code, verify=False)
    await convert(client, friend_headers)
    assert "referral" not in {r["type"] for r in (await rewards(client, referrer_headers))["rewards"]}

    real_headers, real = await account(address="10.0.0.3", referral_code=code)
    await convert(client, real_headers, times=2)
    granted = [r for r in (await rewards(client, referrer_headers))["rewards"] if r["type"] == "referral"]
    assert [(r["source"], r["credits"]) for r in granted] == [(real["id"], 20)]


async def test_self_referrals_earn_nothing(client, account):
    referrer_headers, referrer = await account(address="10.0.0.1", email="bob.smith@gmail.com")
    code = referrer["referral_code"]
    same_address, _ = await account(address="10.0.0.1", referral_code=code)
    alias, _ = await account(address="10.0.0.9", email="bobsmith+2@googlemail.com", referral_code=code)
    await convert(client, same_address)
    await convert(client, alias)
    assert "referral" not in {r["type"] for r in (await rewards(client, referrer_headers))["rewards"]}
    assert (await client.get("/api/rewards")).status_code == 401
