"""The web page with the sample converters: the options form made from a converter's JSON Schema does what it
says; the history cancels a running conversion and deletes a result; the page works from the keyboard."""

from __future__ import annotations

import pytest
from playwright.async_api import expect
from conversion.sample_plugins import sample_overrides


@pytest.fixture
def anclora_overrides():
    return sample_overrides()


async def choose(page, tmp_path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    await page.get_by_test_id("file-input").set_input_files(path)


async def test_options_from_the_schema_reach_the_converter(anclora_server, open_page, tmp_path):
    watched = await open_page(anclora_server)
    page = watched.page
    await choose(page, tmp_path, "notes.txt", "hello\n")
    await expect(page.get_by_test_id("convert")).to_be_enabled()
    await page.get_by_test_id("target-format").select_option("md")
    options = page.get_by_test_id("options")
    repeat = options.get_by_label("repeat")
    assert (await repeat.get_attribute("type"), await repeat.get_attribute("max")) == ("number", "3")
    await repeat.fill("2")
    await options.get_by_label("exclaim").check()
    await watched.shot("options")
    await page.get_by_test_id("convert").click()

    async with page.expect_download() as waiting:
        await page.get_by_test_id("download").click()
    saved = tmp_path / "notes.md"
    await (await waiting.value).save_as(saved)
    assert saved.read_text() == "HELLO\nHELLO\n!"


async def test_history_cancels_a_running_conversion_and_deletes_a_result(anclora_server, open_page, tmp_path):
    watched = await open_page(anclora_server)
    page = watched.page
    await choose(page, tmp_path, "short.txt", "short\n")
    await choose(page, tmp_path, "endless.csv", "a,b\n1,2\n")
    for index, target in ((0, "md"), (1, "json")):  # one after the other: anonymous callers convert one at a time
        await expect(page.get_by_test_id("convert").nth(index)).to_be_enabled()
        await page.get_by_test_id("target-format").nth(index).select_option(target)
        await page.get_by_test_id("convert").nth(index).click()
        await expect(page.get_by_test_id("download")).to_be_visible()
    await expect(page.get_by_test_id("status").nth(1)).to_contain_text("Converting")

    await page.get_by_role("button", name="History").click()
    rows = page.get_by_test_id("history-row")
    await expect(rows).to_have_count(2)
    await watched.shot("history-running")
    await rows.filter(has_text="endless.csv").get_by_test_id("cancel").click()
    await expect(rows.filter(has_text="endless.csv")).to_contain_text("Canceled.")
    await expect(page.get_by_test_id("status").nth(1)).to_have_text("Canceled.")

    done = rows.filter(has_text="short.txt")
    await expect(done).to_contain_text("Done.")
    await done.get_by_test_id("delete").click()
    await expect(done.get_by_test_id("delete")).to_have_count(0)
    files = await (await page.request.get(f"{anclora_server}/api/files")).json()  # with the page's cookie
    assert sorted(file["filename"] for file in files["files"]) == ["endless.csv", "short.txt"]  # no result left
    await watched.shot("history-after")


async def test_keyboard_and_labels(anclora_server, open_page):
    watched = await open_page(anclora_server)
    page = watched.page
    await page.keyboard.press("Tab")
    focused = await page.evaluate("[document.activeElement.textContent, getComputedStyle(document.activeElement).left]")
    assert focused == ["Skip to content", "8px"]  # the skip link shows itself when focused
    for _ in range(3):
        await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")  # the History tab, from the keyboard
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your conversions")
    ring = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert ring == "solid"
    unlabelled = await page.evaluate("""() => [...document.querySelectorAll('input, select, button')]
        .filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label') && !c.textContent.trim())
        .map(c => c.outerHTML)""")
    assert unlabelled == []
