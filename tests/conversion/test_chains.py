"""Every two-step chain the planner advertises, converted from a real sample the way a job runs it.

The chains come from the planner built on the bundled converters, as the server builds it, so a chain that starts
to be advertised is tested at once, and fails here until its source format has a sample. Each chain runs through
`run_route` on one warm LibreOffice pool and one set of warm workers shared by the module; its output is checked
from its bytes: the type, and what the sample carried that the target can hold (its words, rows, picture size,
pages or sound)."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Callable

import pillow_heif
import pypandoc
import pytest
import pytest_asyncio
from PIL import Image
from pypdf import PdfReader

from anclora.engines import zygote
from anclora.engines.chromium_pool import ChromiumPool
from anclora.engines.office_pool import OfficePool
from anclora.conversion.planner import Planner, Route
from anclora.conversion.chain import run_route
from anclora.sniff import sniff
from media_samples import (AUDIO_SAMPLE_ARGS, NAMES, PILLOW_NAMES, RECORDS, VIDEO_SAMPLE_ARGS, audio_sample,
                           bundled_converters, data_sample, image_sample, names_in, probe, video_sample)
from samples import (DERIVED, pdf_text, write_docx, write_odp, write_ods, write_odt, write_pdf, write_pdf_zip,
                     write_rtf, write_xlsx)

pytestmark = pytest.mark.backend_independent

pillow_heif.register_heif_opener()
PLANNER = Planner.from_available(bundled_converters())
CHAINS = [route for route in PLANNER.routes() if route.via]
JOB_TIMEOUT = 300.0  # the server's default job_timeout

WORD = "Anclora"
TEXT = f"Hello from {WORD}"
SECONDS = 0.5  # of video and sound
SIZE = (64, 48)  # of pictures and video frames
TABLE = [tuple(RECORDS[0])] + [tuple(record.values()) for record in RECORDS]  # RECORDS as spreadsheet rows
TABLE_WORD = "Lugo"  # a city of RECORDS, for targets that show a table as text


def _text(content: str) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        path.write_text(content, encoding="utf-8")
        return path
    return write


def _epub(path: Path) -> Path:
    markdown = _text(f"# Title\n\n{TEXT}.\n")(path.with_suffix(".md"))
    subprocess.run([pypandoc.get_pandoc_path(), "-f", "markdown", "-t", "epub3", "-o", str(path), str(markdown)],
                   check=True, capture_output=True, timeout=60)
    return path


def _site_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("index.html", f'<!DOCTYPE html><html><head><link rel="stylesheet" href="site.css"></head>'
                                       f'<body><h1>Title</h1><p>{TEXT}.</p></body></html>')
        archive.writestr("site.css", "h1 { color: navy; }")
    return path


def _pdf_zip(path: Path) -> Path:
    part = write_pdf(path.with_name("part.pdf"), [TEXT])
    return write_pdf_zip(path, {"part.pdf": part}, extra={"README.txt": b"not a pdf"})


# A sample of each source format, written without the converters under test ...
WRITTEN: dict[str, Callable[[Path], Path]] = {
    **{fmt: (lambda path, fmt=fmt: image_sample(path, fmt, SIZE)) for fmt in PILLOW_NAMES},
    **{fmt: (lambda path, fmt=fmt: video_sample(path, fmt, SECONDS)) for fmt in VIDEO_SAMPLE_ARGS},
    **{fmt: (lambda path, fmt=fmt: audio_sample(path, fmt, SECONDS)) for fmt in AUDIO_SAMPLE_ARGS},
    **{fmt: (lambda path, fmt=fmt: data_sample(path, fmt))
       for fmt in ("csv", "tsv", "json", "jsonl", "yaml", "xml", "parquet")},
    "xlsx": lambda path: write_xlsx(path, TABLE), "ods": lambda path: write_ods(path, TABLE),
    "docx": lambda path: write_docx(path, [TEXT]), "odt": lambda path: write_odt(path, [TEXT]),
    "rtf": lambda path: write_rtf(path, TEXT), "odp": lambda path: write_odp(path, [TEXT]),
    "txt": _text(f"{TEXT}\nplain text\n"),
    "md": _text(f"# Title\n\n{TEXT}.\n"),
    "html": _text(f"<!DOCTYPE html><html><body><h1>Title</h1><p>{TEXT}.</p></body></html>\n"),
    "rst": _text(f"Title\n=====\n\n{TEXT}.\n"),
    "tex": _text(f"\\documentclass{{article}}\n\\begin{{document}}\n{TEXT}.\n\\end{{document}}\n"),
    "org": _text(f"* Title\n{TEXT}.\n"),
    "epub": _epub,
    "pdf": lambda path: write_pdf(path, [TEXT]),
    "zip": _pdf_zip,
    "htmlzip": _site_zip,
}
# ... or made by LibreOffice from one of those (samples.DERIVED: old binary formats and pptx).

# What a sample carries that an output may show: the words of documents, the rows of tables.
TABLE_FORMATS = {"csv", "tsv", "json", "jsonl", "yaml", "xml", "parquet", "xlsx", "ods", "xls"}
NO_WORDS = set(PILLOW_NAMES) | set(VIDEO_SAMPLE_ARGS) | set(AUDIO_SAMPLE_ARGS)


TEXT_TARGETS = {"pdf", "txt", "html", "md", "rst", "tex", "org", "epub", "docx", "odt"}


def word_of(source: str) -> str | None:
    if source in NO_WORDS:
        return None
    return TABLE_WORD if source in TABLE_FORMATS else WORD


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def resources(pool, tmp_path_factory):
    """What a job gets: the warm LibreOffice pool, a warm browser and warm Python workers."""
    warm = zygote.ZygotePool(tmp_path_factory.mktemp("warm"))
    async with ChromiumPool(size=1) as chromium:
        yield {"office_pool": pool, zygote.SERVICE: warm, "chromium_pool": chromium}
    await warm.close()


class Samples:
    """Each source format's sample, made on first use."""

    def __init__(self, folder: Path, pool: OfficePool):
        self.folder, self.pool, self.made = folder, pool, {}

    async def get(self, fmt: str) -> Path:
        if fmt not in self.made:
            path = self.folder / f"sample.{fmt}"
            if fmt in DERIVED:
                await self.pool.convert(await self.get(DERIVED[fmt]), path, fmt)
            else:
                WRITTEN[fmt](path)
            self.made[fmt] = path
        return self.made[fmt]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def samples(pool, tmp_path_factory) -> Samples:
    return Samples(tmp_path_factory.mktemp("chain-samples"), pool)


# -- reading outputs back ---------------------------------------------------------------------------------------

def text_in(path: Path, fmt: str) -> str:
    """All the text an output holds: a PDF's text, every entry of a zip container, or the file itself."""
    if fmt == "pdf":
        return pdf_text(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return path.read_text(encoding="utf-8")


def picture(path: Path) -> Image.Image:
    with Image.open(path) as image:
        image.load()
        return image.copy()


def check_picture(route: Route, output: Path, middle: Path) -> None:
    """A page rendered at the default 150 dpi, a screenshot at the default viewport, or the intermediate picture at
    its size (icons: shrunk to 256)."""
    after = picture(output).size
    if route.via == ["html"]:
        assert after == (1280, 800)  # a screenshot at the default viewport
        return
    if route.via == ["pdf"]:
        box = PdfReader(middle).pages[0].mediabox
        assert after == pytest.approx((float(box.width) * 150 / 72, float(box.height) * 150 / 72), abs=1)
        return
    before = picture(middle).size
    if route.source in VIDEO_SAMPLE_ARGS:
        assert before == SIZE
    if route.target == "ico":
        assert max(after) == min(256, max(before))
        assert after[0] / after[1] == pytest.approx(before[0] / before[1], rel=0.02)
    else:
        assert after == before


def check_pages_zip(output: Path, middle: Path) -> None:
    """One PNG per page of the intermediate PDF, named as the PDF tests expect."""
    pages = len(PdfReader(middle).pages)
    with zipfile.ZipFile(output) as archive:
        names = archive.namelist()
        assert names == [f"page-{number:04d}.png" for number in range(1, pages + 1)]
        for name in names:
            with archive.open(name) as entry, Image.open(entry) as image:
                assert image.format == "PNG" and image.width > 0 and image.height > 0


def check_sound(output: Path) -> None:
    found = probe(output)
    assert [stream["codec_type"] for stream in found["streams"]] == ["audio"]
    assert float(found["format"]["duration"]) == pytest.approx(SECONDS, abs=0.2)


def check_output(route: Route, output: Path, workdir: Path) -> None:
    """The output is of the target type by its bytes and keeps what the sample carried that the target can hold.
    Pictures and video carry no words, so no chain turns them into text (images mark pdf as a final target)."""
    source, target = route.source, route.target
    middle = workdir / f"step1.{route.via[0]}"
    assert sniff(output, target) == target
    if target in PILLOW_NAMES:
        check_picture(route, output, middle)
    elif target == "zip":
        assert route.via == ["pdf"]
        check_pages_zip(output, middle)
    elif target in AUDIO_SAMPLE_ARGS:
        check_sound(output)
    elif target == "pdf":
        assert len(PdfReader(output).pages) >= 1
    word = word_of(source)
    if source in TABLE_FORMATS and target in TABLE_FORMATS:
        assert names_in(output, target) == NAMES
    elif word is not None and target in TEXT_TARGETS:
        assert word in text_in(output, target)


# -- the tests --------------------------------------------------------------------------------------------------

def test_the_planner_advertises_chains():
    assert CHAINS, "no two-step chain is advertised: the bundled converters or their engines are missing"
    assert all(len(route.steps) == 2 for route in CHAINS)


def test_every_chain_source_has_a_sample():
    missing = sorted({route.source for route in CHAINS} - set(WRITTEN) - set(DERIVED))
    assert not missing, f"add a sample for {missing} to WRITTEN or DERIVED"


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("route", CHAINS, ids=[f"{r.source}-{'-'.join(r.via)}-{r.target}" for r in CHAINS])
async def test_every_advertised_chain_converts(route, samples, resources, tmp_path):
    assert route.source in WRITTEN or route.source in DERIVED, f"no sample for {route.source}"
    workdir = tmp_path / "job"
    workdir.mkdir()
    src = workdir / f"input.{route.source}"
    shutil.copyfile(await samples.get(route.source), src)
    output = await run_route(route, src, workdir, {}, default_timeout=JOB_TIMEOUT,
                             pools=lambda converter_name: resources)
    assert output == workdir / f"step2.{route.target}"
    check_output(route, output, workdir)


def test_no_chain_makes_text_out_of_pixels():
    pixels = set(PILLOW_NAMES) | set(VIDEO_SAMPLE_ARGS)
    assert not [route for route in CHAINS if route.source in pixels and route.target in TEXT_TARGETS - {"pdf"}]
