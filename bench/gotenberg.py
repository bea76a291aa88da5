"""Gotenberg route overhead: the same docx through `POST /forms/libreoffice/convert` and `POST /api/convert?to=pdf`.

    .venv/bin/python bench/gotenberg.py [--documents N] [--rounds N] [--markdown FILE]

One server (SQLite, its warm LibreOffice pool of 2, started before the first document), one document at a time
after one uncounted warm-up each. The two routes take turns document by document, so that a change in the
machine's load weighs on both alike. Each output is checked (PDF magic). Prints, per route, the median and p90
seconds per document over every round, the server's CPU seconds per document (its whole process tree, LibreOffice
included), the ratio of the Gotenberg route to the API route (target: within 1.1x) and the 1-minute load average
at the start and the end.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_ticks, markdown_table, text_table, tree_pids  # noqa: E402
from convert import check, make_docx, start_anclora  # noqa: E402

ROUTES = ("POST /api/convert?to=pdf", "POST /forms/libreoffice/convert")


def api_route(http: httpx.Client) -> Callable[[Path], bytes]:
    def convert(src: Path) -> bytes:
        response = http.post("/api/convert", params={"to": "pdf", "filename": src.name}, content=src.read_bytes())
        if response.status_code != 200:
            raise RuntimeError(f"/api/convert answered {response.status_code}: {response.text[:300]}")
        return response.content
    return convert


def gotenberg_route(http: httpx.Client) -> Callable[[Path], bytes]:
    def convert(src: Path) -> bytes:
        response = http.post("/forms/libreoffice/convert", files={"files": (src.name, src.read_bytes())})
        if response.status_code != 200:
            raise RuntimeError(f"/forms/libreoffice/convert answered {response.status_code}: {response.text[:300]}")
        return response.content
    return convert


def server_ticks(pid: int) -> int:
    return sum(cpu_ticks(child) for child in tree_pids(pid))


def measure(documents: list[Path], contenders: dict[str, Callable[[Path], bytes]], server_pid: int,
            out: Path) -> dict[str, dict[str, list[float]]]:
    """Wall seconds and server CPU seconds per document, the contenders taking turns document by document."""
    results = {name: {"seconds": [], "cpu": []} for name in contenders}
    for document in documents:
        for name, convert in contenders.items():
            before, started = server_ticks(server_pid), time.perf_counter()
            data = convert(document)
            results[name]["seconds"].append(time.perf_counter() - started)
            results[name]["cpu"].append((server_ticks(server_pid) - before) / os.sysconf("SC_CLK_TCK"))
            target = out / f"{name.split()[1].strip('/').replace('/', '_')}-{document.stem}.pdf"
            target.write_bytes(data)
            check(target, b"%PDF-")
    return results


def p90(values: list[float]) -> float:
    return sorted(values)[min(len(values), math.ceil(len(values) * 0.9)) - 1]


def report(results: dict[str, dict[str, list[float]]]) -> tuple[list[str], list[list[str]]]:
    baseline = statistics.median(results[ROUTES[0]]["seconds"])
    headers = ["route", "median s/doc", "p90 s/doc", "server CPU s/doc (median)", "ratio to /api/convert"]
    rows = [[name, f"{statistics.median(data['seconds']):.3f}", f"{p90(data['seconds']):.3f}",
             f"{statistics.median(data['cpu']):.3f}", f"{statistics.median(data['seconds']) / baseline:.3f}"]
            for name, data in results.items()]
    return headers, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=10, help="docx documents per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown to FILE")
    args = parser.parse_args()
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="anclora-bench-gotenberg-") as folder:
        work = Path(folder)
        (work / "docs").mkdir()
        (work / "out").mkdir()
        documents = [work / "docs" / f"doc{n:03d}.docx" for n in range(args.documents)]
        for document in documents:
            make_docx(document, rng, paragraphs=rng.randint(8, 20))
        load_start = os.getloadavg()[0]
        server = start_anclora(work)
        try:
            with httpx.Client(base_url=server.url, timeout=300) as http:
                contenders = {ROUTES[0]: api_route(http), ROUTES[1]: gotenberg_route(http)}
                for convert in contenders.values():
                    convert(documents[0])  # warm-up: the pool's instances are up, the planner is built
                results = {name: {"seconds": [], "cpu": []} for name in contenders}
                for _ in range(args.rounds):
                    for name, data in measure(documents, contenders, server.pid, work / "out").items():
                        results[name]["seconds"] += data["seconds"]
                        results[name]["cpu"] += data["cpu"]
        finally:
            server.stop()
    headers, rows = report(results)
    note = (f"{args.rounds} rounds x {args.documents} documents, routes alternating; 1-minute load average "
            f"{load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; {os.cpu_count()} CPUs")
    print(text_table(headers, rows))
    print(note)
    if args.markdown:
        Path(args.markdown).write_text(markdown_table(headers, rows) + f"\n\n{note}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
