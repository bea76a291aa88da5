"""The account in the web page: register, sign out, sign in, create an API key that then works from curl; a
conversion beyond the free allowance without credits shows the credit packs."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import pytest
from accounts.smtp_sink import token_in
from billing.fake_stripe import API_KEY, FakeStripe
from playwright.async_api import expect
from plugin_folders import BILLING, bundled_plugin_names

PASSWORD = "a long enough password"


@pytest.fixture
async def stripe_fake():
    fake = FakeStripe().start()
    yield fake
    await fake.stop()


@pytest.fixture
def anclora_overrides(smtp, stripe_fake):
    return {"mail_server": "127.0.0.1", "mail_port": smtp.port, "mail_use_tls": False,
            "stripe_secret_key": API_KEY, "stripe_api_base": stripe_fake.url,
            "plugins_dirs": [str(BILLING)], "plugins_block": bundled_plugin_names(),  # priced converters only
            "credit_packs": [{"id": "tiny", "name": "6 credits", "credits": 6, "amount_cents": 100},
                             {"id": "small", "name": "100 credits", "credits": 100, "amount_cents": 500}],
            "plan_limits": {"free": {"free_conversions_per_day": 1}}}


async def sign_in(page, email: str, password: str = PASSWORD) -> None:
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_test_id("sign-in").click()


async def sign_up(watched, email: str) -> None:
    page = watched.page
    await page.get_by_test_id("account-tab").click()
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_test_id("register").click()
    await expect(page.get_by_test_id("me-email")).to_have_text(email)


async def curl(*args: str) -> tuple[int, dict]:
    process = await asyncio.create_subprocess_exec("curl", "-sS", "-w", "\n%{http_code}", *args,
                                                   stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    body, _, status = out.decode().rpartition("\n")
    return int(status), json.loads(body)


async def test_register_sign_in_and_an_api_key_that_works_from_curl(anclora_server, open_page):
    watched = await open_page(anclora_server)
    page = watched.page
    email = f"web-{uuid.uuid4().hex[:8]}@example.org"
    await sign_up(watched, email)
    await watched.shot("registered")
    await page.get_by_test_id("sign-out").click()
    await expect(page.get_by_test_id("sign-in-form")).to_be_visible()

    await sign_in(page, email)
    await expect(page.get_by_test_id("me-email")).to_have_text(email)
    await page.get_by_test_id("key-name").fill("laptop")
    await page.get_by_test_id("create-key").click()
    await expect(page.get_by_test_id("api-key")).to_have_text(re.compile(r"\S{20,}"))
    key = await page.get_by_test_id("api-key").inner_text()
    await expect(page.get_by_test_id("key-row")).to_contain_text("laptop")
    await watched.shot("api-key-created")

    status, me = await curl("-H", f"X-API-Key: {key}", f"{anclora_server}/api/me")
    assert status == 200 and me["email"] == email

    await page.get_by_test_id("rotate-secret").click()
    await expect(page.get_by_test_id("webhook-secret")).to_have_text(re.compile(r"\S{20,}"))
    status, secret = await curl("-H", f"X-API-Key: {key}", f"{anclora_server}/api/me/webhook-secret")
    assert status == 200 and secret["webhook_secret"] == await page.get_by_test_id("webhook-secret").inner_text()
    await watched.shot("webhook-secret")

    await page.get_by_test_id("revoke").click()
    await expect(page.get_by_test_id("key-row")).to_have_count(0)
    status, refused = await curl("-H", f"X-API-Key: {key}", f"{anclora_server}/api/me")
    assert status == 401 and refused["error"]["code"] == "unauthorized"


async def test_without_credits_a_conversion_offers_the_packs(anclora_server, open_page, tmp_path, stripe_fake):
    watched = await open_page(anclora_server)
    watched.expect_failure("/api/conversions", 402)
    page = watched.page
    await sign_up(watched, f"web-{uuid.uuid4().hex[:8]}@example.org")
    await page.get_by_role("button", name="Convert", exact=True).first.click()
    for name in ("first.txt", "second.txt"):
        text = tmp_path / name
        text.write_text(f"the text of {name}\n")  # different bytes: a cached result would cost nothing
        await page.get_by_test_id("file-input").set_input_files(text)
    convert = page.get_by_test_id("convert")
    for index in (0, 1):
        await expect(convert.nth(index)).to_be_enabled()
        await page.get_by_test_id("target-format").nth(index).select_option("md")
        await convert.nth(index).click()
        if index == 0:
            await expect(page.get_by_test_id("download").first).to_be_visible()  # the day's free conversion

    packs = page.locator("li.card").nth(1).get_by_test_id("pack")
    await expect(packs).to_have_count(2)
    await expect(packs.first).to_contain_text("6 credits")
    await expect(page.get_by_test_id("status").nth(1)).to_contain_text("Buy a pack of credits")
    await expect(page.get_by_test_id("top-up")).to_have_attribute("href", re.compile(stripe_fake.url))
    await watched.shot("payment-required")

    # Buying goes to the Checkout page Stripe made for the pack (answered here without loading it).
    watched.allowed_navigation = stripe_fake.url
    await page.route(f"{stripe_fake.url}/**", lambda route: route.fulfill(body="Stripe Checkout"))
    async with page.expect_navigation(url=re.compile(re.escape(stripe_fake.url) + "/pay/")):
        await packs.nth(1).click()
    assert [s["amount_total"] for s in stripe_fake.sessions.values()][-1] == 500


async def test_a_forgotten_password_is_reset_through_the_emailed_link(anclora_server, open_page, smtp):
    watched = await open_page(anclora_server)
    page = watched.page
    email = f"web-{uuid.uuid4().hex[:8]}@example.org"
    await sign_up(watched, email)
    await page.get_by_test_id("sign-out").click()
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_role("button", name="Forgot your password?").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("a link to choose a new password is on its way")

    token = token_in(await smtp.wait_for(email, "reset your password"))
    await page.goto(f"{anclora_server}/reset-password#token={token}", wait_until="networkidle")
    await page.get_by_label("New password").fill("a brand new password")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("Your password is changed")
    assert "token" not in page.url  # the token does not stay in the address bar
    await watched.shot("password-reset")

    await sign_in(page, email, "a brand new password")
    await expect(page.get_by_test_id("me-email")).to_have_text(email)
