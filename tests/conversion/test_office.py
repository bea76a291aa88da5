"""The LibreOffice converters on a shared warm pool: every advertised pair from a real sample, and hostile documents
(auto-run macros, links to local files, zip bombs) that must convert harmlessly or be refused before LibreOffice."""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path

import pytest
import pytest_asyncio

from anclora.errors import ConversionFailed, UnsupportedMediaType
from anclora.sniff import sniff
from media_samples import bundled_converters
from samples import (DERIVED, pdf_text, write_csv, write_docx, write_linked_docx, write_linked_odt, write_macro_odt,
                     write_odp, write_ods, write_odt, write_rtf, write_webservice_xlsx, write_xlsx,
                     write_zip_bomb_docx)

pytestmark = pytest.mark.asyncio(loop_scope="module")

WORD = "Anclora"
CONVERTERS = {name: bundled_converters()[name]
              for name in ("office_document", "office_spreadsheet", "office_presentation")}
PAIRS = sorted((name, source, target) for name, converter in CONVERTERS.items()
               for source, target in converter.pairs())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def office_samples(pool, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("office-samples")
    text = [f"Hello from {WORD}", "A second paragraph"]
    rows = [("Name", "Count"), (WORD, 42)]
    made = {
        "docx": write_docx(folder / "sample.docx", text), "odt": write_odt(folder / "sample.odt", text),
        "rtf": write_rtf(folder / "sample.rtf", f"Hello from {WORD}"),
        "xlsx": write_xlsx(folder / "sample.xlsx", rows), "ods": write_ods(folder / "sample.ods", rows),
        "csv": write_csv(folder / "sample.csv", rows), "odp": write_odp(folder / "sample.odp", [WORD, "Two"]),
    }
    (folder / "sample.txt").write_text(f"Hello from {WORD}\nplain text\n", encoding="utf-8")
    made["txt"] = folder / "sample.txt"
    for fmt, base in DERIVED.items():
        made[fmt] = folder / f"sample.{fmt}"
        await pool.convert(made[base], made[fmt], fmt)
    return made


@pytest.mark.parametrize("name,source,target", PAIRS)
async def test_every_advertised_pair_converts(name, source, target, pool, office_samples, convert_file):
    output = await convert_file(CONVERTERS[name], office_samples[source], target, resources={"office_pool": pool})
    assert sniff(output, target) == target
    if target == "pdf":
        assert WORD in pdf_text(output)


async def test_converted_documents_keep_their_text(pool, office_samples, convert_file):
    """A round trip docx -> odt -> docx -> pdf still shows the words of the original."""
    odt = await convert_file(CONVERTERS["office_document"], office_samples["docx"], "odt",
                             resources={"office_pool": pool})
    docx = await convert_file(CONVERTERS["office_document"], odt, "docx", resources={"office_pool": pool})
    pdf = await convert_file(CONVERTERS["office_document"], docx, "pdf", resources={"office_pool": pool})
    text = pdf_text(pdf)
    assert f"Hello from {WORD}" in text and "A second paragraph" in text


async def test_without_a_pool_a_one_off_instance_converts(office_samples, convert_file):
    output = await convert_file(CONVERTERS["office_spreadsheet"], office_samples["csv"], "pdf")
    assert sniff(output) == "pdf"
    assert WORD in pdf_text(output) and "42" in pdf_text(output)


async def test_auto_run_macro_does_not_run(pool, tmp_path, convert_file):
    marker = tmp_path / "macro-ran"
    document = write_macro_odt(tmp_path / "macro.odt", marker)
    output = await convert_file(CONVERTERS["office_document"], document, "pdf", resources={"office_pool": pool})
    assert "A document with an auto-run macro" in pdf_text(output)
    assert not marker.exists()


@pytest.mark.parametrize("writer,cached", [(write_linked_odt, "cached section text"),
                                           (write_linked_docx, "cached field text")])
async def test_links_to_local_files_are_not_followed(writer, cached, pool, tmp_path, convert_file):
    document = writer(tmp_path / f"linked.{writer.__name__.rsplit('_', 1)[1]}", "/etc/passwd")
    output = await convert_file(CONVERTERS["office_document"], document, "pdf", resources={"office_pool": pool})
    text = pdf_text(output)
    assert cached in text
    assert "root:" not in text and "/bin/" not in text


@pytest.fixture
def listener():
    """A local HTTP server that records every request it gets."""
    requests: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"FETCHED-CONTENT")

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()
    thread.join()


async def test_spreadsheet_formulas_fetch_nothing(pool, listener, tmp_path, convert_file):
    url, requests = listener
    workbook = write_webservice_xlsx(tmp_path / "fetch.xlsx", f"{url}/leak")
    output = await convert_file(CONVERTERS["office_spreadsheet"], workbook, "pdf", resources={"office_pool": pool})
    text = pdf_text(output)
    assert "Fetched" in text and "FETCHED-CONTENT" not in text
    assert requests == []


async def test_zip_bomb_is_refused_before_libreoffice(pool, tmp_path, convert_file):
    bomb = write_zip_bomb_docx(tmp_path / "bomb.docx")
    conversions_before = sum(instance.conversions for instance in pool.instances.values())
    started = time.monotonic()
    with pytest.raises(ConversionFailed) as refused:
        await convert_file(CONVERTERS["office_document"], bomb, "pdf", resources={"office_pool": pool})
    assert refused.value.status == 422 and refused.value.code == "conversion_failed"
    assert "compressed more than" in refused.value.details["reason"]
    assert time.monotonic() - started < 2
    assert sum(instance.conversions for instance in pool.instances.values()) == conversions_before


async def test_a_document_libreoffice_cannot_read_fails_cleanly(pool, tmp_path, convert_file):
    broken = tmp_path / "broken.doc"
    broken.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)  # an OLE header and nothing else
    with pytest.raises(ConversionFailed) as failed:
        await convert_file(CONVERTERS["office_document"], broken, "pdf", resources={"office_pool": pool})
    assert failed.value.code == "conversion_failed"
    ok = await convert_file(CONVERTERS["office_document"], write_odt(tmp_path / "after.odt"), "pdf",
                            resources={"office_pool": pool})
    assert sniff(ok) == "pdf"


async def test_missing_libreoffice_is_reported_with_the_install_hint(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    availability = CONVERTERS["office_document"].availability()
    monkeypatch.undo()
    assert not availability.available and "soffice" in availability.reason
    assert "libreoffice-writer-nogui" in availability.install and "python3-uno" in availability.install
    assert CONVERTERS["office_document"].availability().available


async def test_a_file_that_is_not_an_office_document_is_refused_by_its_bytes(pool, tmp_path, convert_file):
    fake = tmp_path / "report.docx"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with pytest.raises(UnsupportedMediaType) as refused:
        await convert_file(CONVERTERS["office_document"], fake, "pdf", resources={"office_pool": pool})
    assert refused.value.status == 415
