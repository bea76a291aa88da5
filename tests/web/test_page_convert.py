"""The web page in Chromium: a Word document dropped, PDF picked, progress followed, a real PDF downloaded; the
first load's weight; the Spanish page in dark mode."""

from __future__ import annotations

import subprocess

import pytest
from conversion.samples import write_docx
from playwright.async_api import expect

FIRST_LOAD_BUDGET = 150 * 1024


@pytest.fixture
def anclora_overrides():
    return {"office_pool_size": 1}


async def drop(page, path, mime: str) -> None:
    """Drop a file on the drop zone as a person dragging it from their desktop would."""
    data = await page.evaluate_handle("""([name, mime, bytes]) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(bytes)], name, {type: mime}));
        return transfer;
    }""", [path.name, mime, list(path.read_bytes())])
    await page.dispatch_event("#drop", "drop", {"dataTransfer": data})


async def test_a_dropped_word_document_becomes_a_downloaded_pdf(anclora_server, open_page, tmp_path):
    watched = await open_page(anclora_server)
    page = watched.page
    await watched.shot("empty")
    await watched.follow_statuses()
    docx = write_docx(tmp_path / "report.docx", ["Quarterly report from the web page"])
    await drop(page, docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")

    target = page.get_by_test_id("target-format")
    await expect(page.get_by_test_id("convert")).to_be_enabled()
    assert "pdf" in await target.locator("option").evaluate_all("options => options.map(o => o.value)")
    assert await target.locator("optgroup").first.get_attribute("label") == "Documents"
    await target.select_option("pdf")
    await watched.shot("picked-pdf")
    await page.get_by_test_id("convert").click()

    download_link = page.get_by_test_id("download")
    await expect(download_link).to_be_visible(timeout=90_000)
    await expect(page.get_by_test_id("progress")).to_have_attribute("value", "100")
    await expect(page.get_by_test_id("preview")).to_be_visible()
    await watched.shot("converted")
    statuses = await watched.seen_statuses()
    assert any(s.startswith(("Converting", "Waiting in the queue")) for s in statuses), statuses
    assert statuses[-1] == "Done."

    async with page.expect_download() as waiting:
        await download_link.click()
    download = await waiting.value
    assert download.suggested_filename == "report.pdf"
    saved = tmp_path / "report.pdf"
    await download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(saved), "-"], capture_output=True, check=True, text=True).stdout
    assert "Quarterly report from the web page" in text

    await page.get_by_role("button", name="History").click()
    await expect(page.get_by_test_id("history-row")).to_have_count(1)
    await expect(page.get_by_test_id("history-row")).to_contain_text("report.docx")
    await watched.shot("history")


async def test_first_load_is_small_and_from_this_server_only(anclora_server, open_page):
    watched = await open_page(anclora_server)
    sent = await watched.transferred_bytes()
    assert 10_000 < sent < FIRST_LOAD_BUDGET, sent
    kinds = {response.url.rsplit(".", 1)[-1] for response in watched.responses if "/static/" in response.url}
    assert kinds == {"js", "css", "svg"}
    await watched.shot("first-load")


async def test_spanish_page_from_the_browser_language_and_switchable(anclora_server, open_page):
    watched = await open_page(anclora_server, locale="es-ES", color_scheme="dark")
    page = watched.page
    await expect(page.get_by_role("heading", level=1)).to_have_text("Convertir archivos")
    assert await page.evaluate("document.documentElement.lang") == "es"
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 22, 27)"  # the dark palette, from prefers-color-scheme
    await page.get_by_test_id("account-tab").click()
    await expect(page.get_by_test_id("register")).to_have_text("Crear una cuenta")
    await watched.shot("spanish-dark")

    await page.get_by_label("Idioma").select_option("en")
    await expect(page.get_by_test_id("register")).to_have_text("Create an account")
    await page.reload(wait_until="networkidle")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Convert files")  # the choice is kept
    await watched.shot("switched-to-english")


async def test_an_image_is_previewed_and_the_formats_are_searchable(anclora_server, open_page, tmp_path):
    from PIL import Image

    picture = tmp_path / "square.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(picture)
    watched = await open_page(anclora_server)
    page = watched.page
    await page.get_by_test_id("file-input").set_input_files(picture)
    await expect(page.get_by_test_id("convert")).to_be_enabled()
    await page.get_by_label("Search formats").fill("jpe")
    options = await page.get_by_test_id("target-format").locator("option").evaluate_all("o => o.map(x => x.value)")
    assert options == ["jpeg"]
    await page.get_by_test_id("convert").click()
    preview = page.get_by_test_id("preview")
    await expect(preview).to_be_visible()
    assert await preview.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [64, 48]
    await watched.shot("image-preview")
