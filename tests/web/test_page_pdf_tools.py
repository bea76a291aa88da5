"""The web page with the PDF tools: the watermark and protection options are fieldsets of their own (the password
typed in a password field), and what is filled in reaches the converter."""

from __future__ import annotations

import subprocess

from conversion.samples import write_pdf
from playwright.async_api import expect


class ViewerNoticesIgnored(list):
    """Console errors, but for Chromium's own PDF viewer, which previews the protected result and asks for its
    password: its autofocus notice (from a chrome:// frame) is not the page's."""

    def append(self, error: str) -> None:
        if not (error.startswith("Blocked autofocusing") and "(chrome://" in error):
            super().append(error)


async def test_watermark_and_password_from_the_page(anclora_server, open_page, tmp_path):
    watched = await open_page(anclora_server)
    watched.console_errors = ViewerNoticesIgnored()
    page = watched.page
    pdf = write_pdf(tmp_path / "letter.pdf", ["Dear reader", "Yours truly"])
    await page.get_by_test_id("file-input").set_input_files(pdf)
    await expect(page.get_by_test_id("convert")).to_be_enabled()
    await page.get_by_test_id("target-format").select_option("pdf")
    watermark = page.get_by_test_id("options-watermark")
    await watermark.locator('[name="watermark.text"]').fill("COPY")
    await watermark.get_by_label("rotation").fill("0")
    password = page.get_by_test_id("options-protect").get_by_label("user_password")
    assert await password.get_attribute("type") == "password"
    await password.fill("from the page")
    await watched.shot("pdf-tools")
    await page.get_by_test_id("convert").click()

    async with page.expect_download() as waiting:
        await page.get_by_test_id("download").click()
    saved = tmp_path / "letter-out.pdf"
    await (await waiting.value).save_as(saved)
    assert subprocess.run(["pdftotext", str(saved), "-"], capture_output=True).returncode != 0
    text = subprocess.run(["pdftotext", "-raw", "-upw", "from the page", str(saved), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert text.count("COPY") == 2 and "Yours truly" in text
