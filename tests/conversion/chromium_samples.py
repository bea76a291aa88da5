"""Documents for the Chromium tests, written by the tests, and ways to look inside what Chromium made."""

from __future__ import annotations

import io
import socket
import subprocess
import threading
import zipfile
from pathlib import Path

from PIL import Image
from pypdf import PdfReader

from anclora.engines.page_sources import document_origin, folder_router

WORD = "Anclora"
RED = (255, 0, 0)

PAGE = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Sample</title>
<style>
  body {{ font-family: sans-serif; }}
  .grid {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }}
  .screen-only {{ display: none; }}
  @media screen {{ .screen-only {{ display: block; }} .print-only {{ display: none; }} }}
</style></head>
<body>
  <h1>Hello from {WORD}</h1>
  <div class="grid"><p>Left cell</p><p>Right cell</p></div>
  <p class="print-only">PRINTMEDIA</p><p class="screen-only">SCREENMEDIA</p>
</body></html>
"""


def write_html(path: Path, html: str = PAGE) -> Path:
    path.write_text(html, encoding="utf-8")
    return path


def write_site_zip(path: Path) -> Path:
    """index.html with a stylesheet and an image beside it: the page is red only if the stylesheet loaded."""
    image = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 0, 255)).save(image, "PNG")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("index.html", '<!doctype html><html><head><link rel="stylesheet" href="css/site.css">'
                                       f'</head><body><h1>Zipped {WORD}</h1><img src="img/logo.png"></body></html>')
        archive.writestr("css/site.css", "html, body { background: rgb(255, 0, 0); margin: 0; }")
        archive.writestr("img/logo.png", image.getvalue())
    return path


def write_markdown(path: Path) -> Path:
    path.write_text(f"# Markdown {WORD}\n\nSome *emphasis* and a list:\n\n- first item\n- second item\n",
                    encoding="utf-8")
    return path


def write_pages(path: Path, count: int = 3) -> Path:
    pages = "".join(f'<p style="page-break-after: always">Page number {n}</p>' for n in range(1, count + 1))
    return write_html(path, f"<!doctype html><html><body>{pages}</body></html>")


def site_of(folder: Path) -> tuple[str, object]:
    """A PageJob's first two fields for the document in `folder`, at a fresh origin, as the converters make them."""
    origin = document_origin()
    return f"{origin}/index.html", folder_router(folder, origin)


def pdf_text(path: Path, *extra: str) -> str:
    return subprocess.run(["pdftotext", *extra, str(path), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout


def page_sizes(path: Path) -> list[tuple[float, float]]:
    """Each page's (width, height) in points, as a viewer shows it."""
    return [(round(float(page.mediabox.width)), round(float(page.mediabox.height)))
            for page in PdfReader(path).pages]


def word_left(path: Path, word: str) -> float:
    """Where `word` starts on the first page, in points from the left edge (poppler's bounding boxes)."""
    xhtml = pdf_text(path, "-bbox", "-f", "1", "-l", "1")
    for line in xhtml.splitlines():
        if f">{word}<" in line:
            return float(line.split('xMin="')[1].split('"')[0])
    raise AssertionError(f"{word} not found on the first page")


def word_width(path: Path, word: str) -> float:
    xhtml = pdf_text(path, "-bbox", "-f", "1", "-l", "1")
    for line in xhtml.splitlines():
        if f">{word}<" in line:
            x_min = float(line.split('xMin="')[1].split('"')[0])
            return float(line.split('xMax="')[1].split('"')[0]) - x_min
    raise AssertionError(f"{word} not found on the first page")


def first_page_pixel(path: Path, tmp: Path, xy: tuple[int, int] = (80, 150)) -> tuple[int, int, int]:
    """The colour of one pixel of the first page rendered at 20 dpi."""
    base = tmp / "page"
    subprocess.run(["pdftoppm", "-r", "20", "-png", "-f", "1", "-l", "1", "-singlefile", str(path), str(base)],
                   check=True, timeout=60)
    with Image.open(base.with_suffix(".png")) as image:
        return image.convert("RGB").getpixel(xy)


class Canary:
    """A TCP listener on 127.0.0.1 that counts every connection made to it."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.hits = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.hits += 1
            connection.close()

    def close(self) -> None:
        self.socket.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        self.socket.close()
        self._thread.join(timeout=5)
