"""An OCRmyPDF plugin, loaded by `ocrmypdf --plugin` inside the sandbox (never by the server): every page
OCRmyPDF finishes is one JSON line on stdout, `{"done": n, "total": pages}`, for `anclora.engines.ocrmypdf`."""

import json
import sys

from ocrmypdf import hookimpl

PAGE_PHASES = ("OCR", "Image processing")  # the per-page phase, named by whether Tesseract runs


class PageCounter:
    """The tqdm-like protocol OCRmyPDF drives; only the per-page phase is reported (it counts each page twice:
    rendered, then grafted)."""

    def __init__(self, *, total=None, desc="", **_ignored):
        self.total = total or 0
        self.reported = desc in PAGE_PHASES
        self.done = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n=1, *, completed=None):
        self.done = completed if completed is not None else self.done + n
        if self.reported and self.total:
            sys.stdout.write(json.dumps({"done": self.done, "total": self.total}) + "\n")
            sys.stdout.flush()


@hookimpl
def get_progressbar_class():
    return PageCounter
