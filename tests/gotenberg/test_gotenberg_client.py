"""gotenberg-client, unchanged, against a live server: office documents to PDF, merge, split, flatten, metadata,
health and version."""

from __future__ import annotations

import io
import zipfile

from gotenberg_client.options import PageOrientation, PdfAFormat
from gotenberg_samples import page_sides, write_docx, write_form_pdf, write_odt_with_photo, write_pdf
from pypdf import PdfReader


async def test_a_docx_becomes_a_pdf_named_as_asked(gotenberg, tmp_path):
    docx = write_docx(tmp_path / "report.docx", pages=2)
    async with gotenberg.libre_office.to_pdf() as route:
        response = await route.convert(docx).output_filename("quarterly").trace_id("trace-42").run()
    assert response.status_code == 200
    assert len(PdfReader(io.BytesIO(response.content)).pages) == 2
    assert response.headers["Content-Type"] == "application/pdf"
    assert 'filename="quarterly.pdf"' in response.headers["Content-Disposition"]
    assert response.headers["Gotenberg-Trace"] == "trace-42"


async def test_landscape_and_page_ranges_reach_libreoffice(gotenberg, tmp_path):
    docx = write_docx(tmp_path / "long.docx", pages=3)
    async with gotenberg.libre_office.to_pdf() as route:
        response = await (route.convert(docx).orient(PageOrientation.Landscape).page_ranges("2-3")
                          .enable_universal_access().run())
    reader = PdfReader(io.BytesIO(response.content))
    assert "/StructTreeRoot" in reader.trailer["/Root"]  # PDF/UA: a tagged PDF
    assert len(reader.pages) == 2
    assert "Page 2" in reader.pages[0].extract_text()
    box = reader.pages[0].mediabox
    assert box.width > box.height


async def test_the_image_fields_reach_the_pdf_export(gotenberg, tmp_path):
    odt = write_odt_with_photo(tmp_path / "photo.odt")
    sizes = {}
    for name, configure in {
        "default": lambda route: route,
        "small": lambda route: route.quality(10).reduce_image_resolution(reduce_image_resolution=True)
                                    .max_image_resolution(75),
        "lossless": lambda route: route.lossless_image_compression(lossless_image_compression=True),
    }.items():
        async with gotenberg.libre_office.to_pdf() as route:
            sizes[name] = len((await configure(route.convert(odt)).run()).content)
    assert sizes["small"] < sizes["default"] / 3
    assert sizes["lossless"] > sizes["default"] * 2


async def test_several_documents_come_back_zipped_or_merged(gotenberg, tmp_path):
    one, two = write_docx(tmp_path / "one.docx", pages=1), write_docx(tmp_path / "two.docx", pages=2)
    async with gotenberg.libre_office.to_pdf() as route:
        zipped = await route.convert_files([one, two]).run()
    assert zipped.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        counts = {name: len(PdfReader(io.BytesIO(archive.read(name))).pages) for name in archive.namelist()}
    assert counts == {"one.pdf": 1, "two.pdf": 2}

    async with gotenberg.libre_office.to_pdf() as route:
        merged = await route.convert_files([one, two]).merge(merge=True).run()
    assert merged.headers["Content-Type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(merged.content)).pages) == 3


async def test_two_pdfs_merge_in_the_order_given(gotenberg, tmp_path):
    # the client names the parts 00001_..., 00002_... so that the server's alphanumeric order is the list's
    second, first = write_pdf(tmp_path / "a.pdf", 3, side=300), write_pdf(tmp_path / "b.pdf", 2, side=400)
    async with gotenberg.merge.merge() as route:
        response = await route.merge([first, second]).run()
    assert page_sides(io.BytesIO(response.content)) == [400, 400, 300, 300, 300]


async def test_split_by_intervals_and_by_pages(gotenberg, tmp_path):
    pdf = write_pdf(tmp_path / "five.pdf", 5, side=300)
    async with gotenberg.split.split() as route:
        parts = await route.split(pdf).split_mode("intervals").split_span("2").run()
    with zipfile.ZipFile(io.BytesIO(parts.content)) as archive:
        counts = [len(PdfReader(io.BytesIO(archive.read(name))).pages) for name in sorted(archive.namelist())]
        names = sorted(archive.namelist())
    assert counts == [2, 2, 1]
    assert names == ["five_0.pdf", "five_1.pdf", "five_2.pdf"]

    other = write_pdf(tmp_path / "three.pdf", 3, side=400)
    async with gotenberg.split.split() as route:
        both = await route.split_files([pdf, other]).split_mode("pages").split_span("1,3").run()
    with zipfile.ZipFile(io.BytesIO(both.content)) as archive:
        sides = {name: page_sides(io.BytesIO(archive.read(name))) for name in archive.namelist()}
    assert sides == {"five_0.pdf": [300], "five_1.pdf": [300], "three_0.pdf": [400], "three_1.pdf": [400]}

    async with gotenberg.split.split() as route:
        unified = await route.split(pdf).split_mode("pages").split_span("2-3").split_unify(split_unify=True).run()
    reader = PdfReader(io.BytesIO(unified.content))
    assert ["five page 2" in page.extract_text() for page in reader.pages] == [True, False]
    assert len(reader.pages) == 2


async def test_metadata_written_then_read(gotenberg, tmp_path):
    pdf = write_pdf(tmp_path / "plain.pdf", 2, side=300)
    async with gotenberg.metadata.write() as route:
        written = await route.write(pdf).metadata(title="Annual report", author="Ada", keywords=["q1", "q2"]).run()
    stamped = tmp_path / "stamped.pdf"
    written.to_file(stamped)
    async with gotenberg.metadata.read() as route:
        metadata = await route.read(stamped).run()
    assert metadata["stamped.pdf"]["Title"] == "Annual report"
    assert metadata["stamped.pdf"]["Author"] == "Ada"
    assert metadata["stamped.pdf"]["Keywords"] == "q1, q2"
    assert metadata["stamped.pdf"]["PageCount"] == 2


async def test_flatten_draws_the_form_into_the_page(gotenberg, tmp_path):
    form = write_form_pdf(tmp_path / "form.pdf", "Grace Hopper")
    async with gotenberg.flatten.flatten() as route:
        response = await route.flatten(form).run()
    reader = PdfReader(io.BytesIO(response.content))
    assert "/AcroForm" not in reader.trailer["/Root"]
    assert "/Annots" not in reader.pages[0]
    assert "Grace Hopper" in reader.pages[0].extract_text()


async def test_pdfa_from_libreoffice_and_for_existing_pdfs(gotenberg, tmp_path):
    docx = write_docx(tmp_path / "archive.docx", pages=2)
    async with gotenberg.libre_office.to_pdf() as route:
        converted = await route.convert(docx).pdf_format(PdfAFormat.A2b).run()
    assert b"<pdfaid:part>2</pdfaid:part>" in converted.content
    assert len(PdfReader(io.BytesIO(converted.content)).pages) == 2

    first, second = write_pdf(tmp_path / "1.pdf", 1, side=300), write_pdf(tmp_path / "2.pdf", 2, side=400)
    async with gotenberg.pdf_convert.to_pdfa() as route:
        zipped = await route.convert_files([first, second]).pdf_format(PdfAFormat.A3b).run()
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    assert set(parts) == {"1.pdf", "2.pdf"}
    # written again by the PDF/A step (OCRmyPDF and Ghostscript), whose XMP names the part as an attribute
    assert all(b'pdfaid:part="3"' in data or b"<pdfaid:part>3</pdfaid:part>" in data for data in parts.values())
    assert page_sides(io.BytesIO(parts["2.pdf"])) == [400, 400]


async def test_health_and_version(gotenberg):
    async with gotenberg.health as health_api:
        health = await health_api.health()
    assert health.overall == "up"
    assert health.uno is not None and health.uno.status == "up"  # LibreOffice, reported as Gotenberg names it
    async with gotenberg.version as version_api:
        version = await version_api.get()
    assert version
