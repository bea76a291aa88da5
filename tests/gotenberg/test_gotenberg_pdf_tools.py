"""Gotenberg's PDF tool routes (encrypt, watermark, stamp, optimize): gotenberg-client, unchanged, against a live
server, the outputs read back with poppler and qpdf; and Gotenberg's 400s for what they refuse."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import pytest
from gotenberg_client.options import WatermarkStampOptions, WatermarkStampSource
from gotenberg_samples import write_docx, write_pdf
from PIL import Image
from pypdf import PdfReader


def page_texts(data: bytes, password: str | None = None) -> list[str]:
    """The text of each page, in content order (a turned watermark reads as one word)."""
    count = len(PdfReader(io.BytesIO(data), password=password).pages)
    texts = []
    for number in range(1, count + 1):
        argv = ["pdftotext", "-raw", "-f", str(number), "-l", str(number), *(["-upw", password] if password else [])]
        texts.append(subprocess.run([*argv, "-", "-"], input=data, capture_output=True, check=True).stdout.decode())
    return texts


def write_png(path: Path, size=(120, 60)) -> Path:
    Image.new("RGBA", size, (0, 90, 200, 160)).save(path, "PNG")
    return path


async def post_form(client, route, files, data=None):
    parts = [(field, (path.name, path.read_bytes())) for field, path in files]
    return await client.post(f"/forms/pdfengines/{route}", files=parts, data=data or {})


def assert_refused(response, text):
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert text in response.text


async def test_encrypt_with_a_user_password(gotenberg, tmp_path):
    pdf = write_pdf(tmp_path / "plain.pdf", 2, side=300)
    async with gotenberg.encrypt.encrypt() as route:
        response = await route.add_file(pdf).user_password("reader pw").owner_password("owner pw").run()
    assert response.status_code == 200
    assert subprocess.run(["pdftotext", "-", "-"], input=response.content, capture_output=True).returncode != 0
    assert ["plain page 1" in text for text in page_texts(response.content, "reader pw")] == [True, False]
    response.to_file(tmp_path / "locked.pdf")
    shown = subprocess.run(["qpdf", "--show-encryption", "--password=owner pw", str(tmp_path / "locked.pdf")],
                           capture_output=True, text=True)
    assert "AESv3" in shown.stdout and "Supplied password is owner password" in shown.stdout


async def test_watermark_text_on_every_page_and_stamp_image(gotenberg, tmp_path):
    pdf = write_pdf(tmp_path / "three.pdf", 3, side=400)
    async with gotenberg.watermark.watermark() as route:
        marked = await (route.add_file(pdf).watermark_source(WatermarkStampSource.Text)
                        .watermark_expression("CONFIDENTIAL")
                        .watermark_options(WatermarkStampOptions(rotation=0, opacity=0.4, color="#FF0000"))
                        .run())
    texts = page_texts(marked.content)
    assert len(texts) == 3 and all("CONFIDENTIAL" in text for text in texts)
    first = PdfReader(io.BytesIO(marked.content)).pages[0]["/Contents"][0].get_object().get_data()
    assert b"CONFIDENTIAL".hex().encode() in first  # a watermark goes under the page's content

    async with gotenberg.stamp.stamp() as route:
        stamped = await (route.add_file(pdf).stamp_source(WatermarkStampSource.Image)
                         .stamp_file(write_png(tmp_path / "logo.png")).stamp_pages("2-3").run())
    reader = PdfReader(io.BytesIO(stamped.content))
    marked_pages = ["/AncloraMarkImage" in page["/Resources"].get("/XObject", {}) for page in reader.pages]
    assert marked_pages == [False, True, True]
    last = reader.pages[1]["/Contents"][-1].get_object().get_data()
    assert b"/AncloraMarkImage Do" in last  # a stamp goes over it


async def test_optimize_reencodes_the_images(client, tmp_path):
    photo = tmp_path / "photo.pdf"
    Image.effect_noise((1600, 1600), 80).convert("RGB").save(photo, "PDF", resolution=300, quality=95)
    small = await post_form(client, "optimize", [("files", photo)], {"imageQuality": "20"})
    assert small.status_code == 200, small.text
    assert len(small.content) < photo.stat().st_size / 2
    assert next(iter(PdfReader(io.BytesIO(small.content)).pages[0].images)).image.size == (1600, 1600)
    (tmp_path / "small.pdf").write_bytes(small.content)
    assert subprocess.run(["qpdf", "--check", str(tmp_path / "small.pdf")], capture_output=True).returncode == 0


async def test_the_encryption_fields_finish_a_conversion_and_a_merge(gotenberg, client, tmp_path):
    docx = write_docx(tmp_path / "memo.docx", pages=2, text="Memo")
    async with gotenberg.libre_office.to_pdf() as route:
        converted = await route.convert(docx).user_password("memo pw").run()
    assert page_texts(converted.content, "memo pw")[1].strip() == "Memo 2"
    assert subprocess.run(["pdftotext", "-", "-"], input=converted.content, capture_output=True).returncode != 0

    first, second = write_pdf(tmp_path / "1.pdf", 1, side=300), write_pdf(tmp_path / "2.pdf", 1, side=400)
    async with gotenberg.merge.merge() as route:
        merged = await route.merge([first, second]).owner_password("boss").metadata(title="Both").run()
    reader = PdfReader(io.BytesIO(merged.content))
    assert reader.is_encrypted and len(reader.pages) == 2  # opens without a password: owner-only
    assert reader.metadata["/Title"] == "Both"

    pdfa = await post_form(client, "merge", [("files", first), ("files", second)],
                           {"pdfa": "PDF/A-2b", "userPassword": "x"})
    assert_refused(pdfa, "Invalid form data: PDF/A format is incompatible with encryption")
    restricted = await post_form(client, "merge", [("files", first)], {"allowPrinting": "false"})
    assert_refused(restricted, "permission restrictions require a 'userPassword' or 'ownerPassword'")


async def test_several_files_come_back_zipped(client, tmp_path):
    one, two = write_pdf(tmp_path / "one.pdf", 1, side=300), write_pdf(tmp_path / "two.pdf", 2, side=300)
    response = await post_form(client, "encrypt", [("files", one), ("files", two)], {"userPassword": "pw"})
    assert response.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert {name: len(PdfReader(io.BytesIO(archive.read(name)), password="pw").pages)
                for name in archive.namelist()} == {"one.pdf": 1, "two.pdf": 2}


def bomb_png(path: Path) -> Path:
    """A 1-bit PNG of 20000 x 20000 pixels in about 50 kB."""
    import struct
    import zlib

    side = 20000

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\x00" * (side // 8 + 1)) * side
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("route, data, files, text", [
    ("encrypt", {}, [], "a 'userPassword' or 'ownerPassword' is required"),
    ("encrypt", {"allowPrinting": "nope", "userPassword": "x"}, [], "form field 'allowPrinting' is invalid"),
    ("encrypt", {"userPassword": "tab\there"}, [], "form field 'userPassword' is invalid"),
    ("encrypt", {"userPassword": "x", "watermarkSource": "text"}, [], "form field 'watermarkSource' is not supported"),
    ("watermark", {}, [], "form field 'watermarkSource' is required"),
    ("watermark", {"watermarkSource": "svg"}, [], "form field 'watermarkSource' is invalid (got 'svg'"),
    ("watermark", {"watermarkSource": "pdf"}, [], "The requested stamp source is not supported"),
    ("watermark", {"watermarkSource": "image"}, [], "a watermark file is required for image or pdf source"),
    ("watermark", {"watermarkSource": "text"}, [], "form field 'watermarkExpression' is required"),
    ("watermark", {"watermarkSource": "text", "watermarkExpression": "X", "watermarkOptions": "{oops"}, [],
     "form field 'watermarkOptions' is invalid"),
    ("watermark", {"watermarkSource": "text", "watermarkExpression": "X", "watermarkOptions": '{"points": "9"}'},
     [], "form field 'watermarkOptions' is invalid (points: not supported by this server)"),
    ("stamp", {"stampSource": "text", "stampExpression": "X", "stampOptions": '{"scale": "0.5 abs"}'}, [],
     "only a relative scale"),
    ("stamp", {"stampSource": "image"}, [("stamp", "a.pdf")], "must be a PNG or JPEG image"),
    ("stamp", {"stampSource": "text", "stampExpression": "X", "stampOptions": '{"opacity": 3}'}, [],
     "form field 'stampOptions' is invalid (3.0 is greater than the maximum of 1)"),
    ("watermark", {"watermarkSource": "text", "watermarkExpression": "X" * 501}, [],
     "form field 'watermarkExpression' is invalid"),
    ("optimize", {"imageQuality": "0"}, [], "form field 'imageQuality' is invalid (got '0', resulting to value is "
                                            "inferior to 1)"),
    ("optimize", {"imageQuality": "101"}, [], "value is superior to 100"),
])
async def test_what_the_routes_refuse(client, tmp_path, route, data, files, text):
    pdf = write_pdf(tmp_path / "a.pdf", 1, side=300)
    extra = [(field, pdf if name.endswith(".pdf") else tmp_path / name) for field, name in files]
    assert_refused(await post_form(client, route, [("files", pdf), *extra], data), text)


async def test_hostile_inputs_get_gotenbergs_400(client, tmp_path):
    pdf = write_pdf(tmp_path / "a.pdf", 1, side=300)
    refused = await post_form(client, "stamp", [("files", pdf), ("stamp", bomb_png(tmp_path / "bomb.png"))],
                              {"stampSource": "image"})
    assert_refused(refused, "The watermark cannot be applied.")
    locked = await post_form(client, "encrypt", [("files", pdf)], {"userPassword": "pw"})
    (tmp_path / "locked.pdf").write_bytes(locked.content)
    again = await post_form(client, "watermark", [("files", tmp_path / "locked.pdf")],
                            {"watermarkSource": "text", "watermarkExpression": "X"})
    assert_refused(again, "protected by a password")
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n")
    assert_refused(await post_form(client, "optimize", [("files", garbage)]), "This PDF cannot be processed.")
