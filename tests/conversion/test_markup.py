"""The pandoc converter: every advertised pair from a real sample, and untrusted markup that tries to read local
files (LaTeX \\input, rST include, Org #+INCLUDE, images) or smuggle raw HTML through."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pypandoc
import pytest

from anclora.errors import ConversionFailed
from anclora.sniff import sniff
from media_samples import bundled_converters
from samples import write_docx, write_odt, write_zip_bomb_docx

CONVERTER = bundled_converters()["markup"]
PANDOC = pypandoc.get_pandoc_path()
PAIRS = sorted(CONVERTER.pairs())
WORD = "Anclora"
SOURCES = {
    "md": f"# Title\n\nHello from *{WORD}*.\n",
    "txt": f"Hello from {WORD}.\nSecond line.\n",
    "html": f"<!DOCTYPE html><html><body><h1>Title</h1><p>Hello from <em>{WORD}</em>.</p></body></html>\n",
    "rst": f"Title\n=====\n\nHello from *{WORD}*.\n",
    "tex": f"\\documentclass{{article}}\n\\begin{{document}}\nHello from \\emph{{{WORD}}}.\n\\end{{document}}\n",
    "org": f"* Title\nHello from /{WORD}/.\n",
}
SECRET = "SECRET-FILE-CONTENT-7f3a"


@pytest.fixture(scope="module")
def markup_samples(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("markup-samples")
    made = {fmt: folder / f"sample.{fmt}" for fmt in SOURCES}
    for fmt, text in SOURCES.items():
        made[fmt].write_text(text, encoding="utf-8")
    made["docx"] = write_docx(folder / "sample.docx", [f"Hello from {WORD}"])
    made["odt"] = write_odt(folder / "sample.odt", [f"Hello from {WORD}"])
    made["epub"] = folder / "sample.epub"
    subprocess.run([PANDOC, "-f", "markdown", "-t", "epub3", "-o", str(made["epub"]),
                    str(made["md"])], check=True, capture_output=True)
    return made


@pytest.fixture
def secret_file(tmp_path) -> Path:
    path = tmp_path / "secret.png"
    path.write_text(SECRET, encoding="ascii")
    return path


def everything_in(path: Path) -> str:
    """All the text an output holds: the file itself, or every entry of a zip container."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return path.read_text(encoding="utf-8")


def pandoc_without_sandbox(src: Path, reader: str, writer: str, out: Path) -> str:
    """The same input through pandoc without our switches: proves the sample really is an attack."""
    subprocess.run([PANDOC, "-f", reader, "-t", writer, "-o", str(out), str(src)],
                   check=True, capture_output=True, cwd=src.parent)
    return everything_in(out)


@pytest.mark.parametrize("source,target", PAIRS)
async def test_every_advertised_pair_converts(source, target, markup_samples, convert_file):
    output = await convert_file(CONVERTER, markup_samples[source], target)
    assert sniff(output, target) == target
    assert WORD in everything_in(output)


@pytest.mark.parametrize("fmt,attack", [
    ("tex", "\\documentclass{article}\n\\begin{document}\nHello\n\\input{%s}\n\\end{document}\n"),
    ("rst", "Title\n=====\n\nHello\n\n.. include:: %s\n"),
    ("org", "* Title\nHello\n#+INCLUDE: \"%s\"\n"),
])
async def test_include_directives_do_not_read_local_files(fmt, attack, secret_file, tmp_path, convert_file):
    src = tmp_path / f"attack.{fmt}"
    src.write_text(attack % secret_file, encoding="utf-8")
    reader = {"tex": "latex", "rst": "rst", "org": "org"}[fmt]
    assert SECRET in pandoc_without_sandbox(src, reader, "plain", tmp_path / "unsafe.txt")
    output = await convert_file(CONVERTER, src, "txt")
    text = output.read_text(encoding="utf-8")
    assert "Hello" in text and SECRET not in text


@pytest.mark.parametrize("target", ["docx", "odt", "epub"])
async def test_local_images_are_not_embedded(target, secret_file, tmp_path, convert_file):
    src = tmp_path / "image.md"
    src.write_text(f"Hello\n\n![picture]({secret_file})\n", encoding="utf-8")
    if target == "docx":
        assert SECRET in pandoc_without_sandbox(src, "markdown", "docx", tmp_path / "unsafe.docx")
    output = await convert_file(CONVERTER, src, target)
    content = everything_in(output)
    assert "Hello" in content and SECRET not in content


@pytest.mark.parametrize("fmt,text", [
    ("md", "Hello\n\n<script>alert('x')</script>\n\n```{=html}\n<iframe src=\"https://example.org\"></iframe>\n```\n"),
    ("rst", "Hello\n\n.. raw:: html\n\n   <script>alert('x')</script>\n"),
    ("org", "Hello\n\n#+BEGIN_EXPORT html\n<script>alert('x')</script>\n#+END_EXPORT\n"),
])
async def test_raw_html_in_the_input_never_reaches_html_output(fmt, text, tmp_path, convert_file):
    src = tmp_path / f"raw.{fmt}"
    src.write_text(text, encoding="utf-8")
    html = (await convert_file(CONVERTER, src, "html")).read_text(encoding="utf-8")
    assert "Hello" in html
    assert "<script>alert" not in html and "<iframe" not in html


async def test_html_iframes_to_local_files_are_not_followed(tmp_path, secret_file, convert_file):
    src = tmp_path / "frame.html"
    src.write_text(f'<html><body><p>Hello</p><iframe src="{secret_file.as_uri()}"></iframe>'
                   f'<img src="{secret_file}"></body></html>', encoding="utf-8")
    for target in ("md", "docx"):
        content = everything_in(await convert_file(CONVERTER, src, target))
        assert "Hello" in content and SECRET not in content


async def test_a_zip_bomb_never_reaches_pandoc(tmp_path, convert_file):
    with pytest.raises(ConversionFailed) as refused:
        await convert_file(CONVERTER, write_zip_bomb_docx(tmp_path / "bomb.docx"), "md")
    assert refused.value.status == 422 and "compressed more than" in refused.value.details["reason"]


def test_pdf_is_left_to_the_planner():
    assert not any(target == "pdf" for _, target in CONVERTER.pairs())
    assert ("docx", "odt") not in set(CONVERTER.pairs())


def test_missing_pandoc_is_reported_with_the_install_hint(monkeypatch):
    def missing():
        raise OSError("No pandoc was found")
    monkeypatch.setattr(pypandoc, "get_pandoc_path", missing)
    availability = CONVERTER.availability()
    monkeypatch.undo()
    assert not availability.available
    assert "pandoc" in availability.reason and "pypandoc-binary" in availability.install
    assert CONVERTER.availability().available
