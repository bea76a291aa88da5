"""OCR benchmark: scanned pages through Anclora's API against the `ocrmypdf` command run per file.

    .venv/bin/python bench/ocr.py [--pages 10] [--rounds 1] [--pdfa] [--markdown FILE]

Pages: generated A4 scans at 300 dpi (PNG, grey, a dozen lines of known words and scanner speckle), one page per
file. Each round converts every page once with each contender, taking turns page by page (who goes first
alternates), one page at a time, after one warm-up conversion each:
  - Anclora: `POST /api/convert?to=pdf&ocr=true&cache=false` on a running server (`anclora serve`, SQLite): the
    upload, the image check (`_ocr_worker.py`), OCRmyPDF in the sandbox, the output check, the download;
  - ocrmypdf: `ocrmypdf -l eng --skip-text --output-type pdf --jobs 1 page.png page.pdf`, the same work the
    converter asks of it, started per file.
With `--pdfa`, both write PDF/A-2b (`pdfa=2b`; `--output-type pdfa-2`). Every output is checked: `pdftotext` must
find the page's first line. CPU seconds per page: the server's process tree, reaped children included (OCRmyPDF,
Tesseract, Ghostscript); for the command, this process's reaped children.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "conversion"))
from _common import markdown_table, text_table  # noqa: E402
from convert import start_anclora, tree_cpu  # noqa: E402
from ocr_samples import write_scan_png  # noqa: E402

WORDS = ("anchor harbour ledger tide river stone paper signal copper lantern meadow orbit quarry velvet willow "
         "ember falcon granite hollow island jasmine kettle marble nectar").split()


def make_pages(folder: Path, count: int) -> list[tuple[Path, str]]:
    """`count` scanned pages, each with its own lines; (path, its first line)."""
    rng = random.Random(14)
    pages = []
    for number in range(count):
        lines = [f"Page {number + 1} " + " ".join(rng.choice(WORDS) for _ in range(3))]
        lines += [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 5))) for _ in range(11)]
        pages.append((write_scan_png(folder / f"scan-{number + 1:02d}.png", lines), lines[0]))
    return pages


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def anclora(http: httpx.Client, pid: int, pdfa: bool):
    params = {"to": "pdf", "ocr": "true", "languages": "eng", "cache": "false", **({"pdfa": "2b"} if pdfa else {})}

    def convert(src: Path, dst: Path) -> float:
        before = tree_cpu(pid)
        response = http.post("/api/convert", params={**params, "filename": src.name}, content=src.read_bytes())
        if response.status_code != 200:
            raise RuntimeError(f"Anclora answered {response.status_code}: {response.text[:300]}")
        dst.write_bytes(response.content)
        return tree_cpu(pid) - before
    return convert


def command(pdfa: bool):
    def convert(src: Path, dst: Path) -> float:
        before = children_cpu()
        subprocess.run(["ocrmypdf", "-l", "eng", "--skip-text", "--output-type", "pdfa-2" if pdfa else "pdf",
                        "--jobs", "1", "-q", str(src), str(dst)], check=True, capture_output=True, timeout=600)
        return children_cpu() - before
    return convert


def check(path: Path, first_line: str) -> None:
    text = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    if first_line not in text:
        raise RuntimeError(f"{path.name}: OCR did not find {first_line!r}")


def run(pages, contenders, out: Path, rounds: int) -> dict[str, dict[str, list[float]]]:
    figures = {name: {"seconds": [], "cpu": []} for name in contenders}
    for name, convert in contenders.items():  # warm-up: the server's first job starts its warm workers
        convert(pages[0][0], out / f"warm-{name}.pdf")
    turn = 0
    for round_number in range(rounds):
        for index, (page, first_line) in enumerate(pages):
            order = list(contenders) if turn % 2 == 0 else list(reversed(contenders))
            turn += 1
            for name in order:
                dst = out / f"{name}-{round_number}-{index}.pdf"
                started = time.perf_counter()
                cpu = contenders[name](page, dst)
                figures[name]["seconds"].append(time.perf_counter() - started)
                figures[name]["cpu"].append(cpu)
                check(dst, first_line)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pdfa", action="store_true", help="write PDF/A-2b with both")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="anclora-bench-ocr-") as folder:
        work = Path(folder)
        (work / "pages").mkdir()
        (work / "out").mkdir()
        pages = make_pages(work / "pages", args.pages)
        server = start_anclora(work / "server", office=False)
        try:
            load_before = os.getloadavg()[0]
            with httpx.Client(base_url=server.url, timeout=600) as http:
                figures = run(pages, {"anclora": anclora(http, server.pid, args.pdfa), "ocrmypdf": command(args.pdfa)},
                              work / "out", args.rounds)
            load_after = os.getloadavg()[0]
        finally:
            server.stop()
    base = sum(figures["ocrmypdf"]["seconds"])
    rows = [[name, f"{sum(f['seconds']):.2f}", f"{statistics.median(f['seconds']):.2f}",
             f"{statistics.median(f['cpu']):.2f}", f"{sum(f['seconds']) / base:.3f}"]
            for name, f in figures.items()]
    headers = ["contender", "total s", "median s/page", "median CPU s/page", "time / ocrmypdf"]
    print(f"{args.pages} pages x {args.rounds} round(s){', PDF/A-2b' if args.pdfa else ''}; "
          f"1-minute load average {load_before:.1f} before, {load_after:.1f} after")
    print(text_table(headers, rows))
    if args.markdown:
        args.markdown.write_text(markdown_table(headers, rows) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
