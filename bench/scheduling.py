"""Scheduling benchmark: a cached docx -> pdf against the computed one, and a one-job tenant's wait behind a
50-job tenant under fair share against first come, first served.

    .venv/bin/python bench/scheduling.py [--documents N] [--batch N] [--markdown FILE]

Cache: `anclora serve` with a warm LibreOffice pool (as bench/convert.py starts it); each of `--documents` docx
documents goes through `POST /api/convert?to=pdf` twice in a row: the first is computed (a cache miss), the second
is answered from the result cache. Prints the medians, the ratio, and the server's CPU seconds per conversion (its
whole process tree, LibreOffice included). Beside them, taking turns with them, the floor of an answer that converts
nothing: the same document to bench/_floor_server.py's `POST /stored` (a bare Tornado app that hashes the upload,
writes it to a file, records one row in SQLite and answers with the bytes).

Fair share (left out with `--batch 0`): a second server with one worker (`ANCLORA_WORKERS=1`). Tenant A (an
anonymous session) queues `--batch` png -> jpeg conversions (1600x1200, distinct pictures, `"cache": false`), then
tenant B queues one. B's wait is its `started_at - created_at`. First come, first served is not run: under it, B
would start once A's whole batch had finished; that moment is computed from this run's own timeline (the batch's
last finish, minus B's own run time, which the fair run spent before it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_ticks, markdown_table, text_table, tree_pids  # noqa: E402
from convert import make_docx, make_png, start_anclora, start_floor  # noqa: E402


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_ticks(child) for child in tree_pids(pid)) / os.sysconf("SC_CLK_TCK")


def one_shot(http: httpx.Client, src: Path, target: str) -> bytes:
    response = http.post("/api/convert", params={"to": target, "filename": src.name}, content=src.read_bytes())
    if response.status_code != 200:
        raise RuntimeError(f"Anclora answered {response.status_code}: {response.text[:300]}")
    return response.content


FLOOR = "floor: bare upload, hashed, one row"


def cache_run(server, floor, docs: list[Path]) -> dict[str, tuple[list[float], float]]:
    """Seconds per document and server CPU seconds in all, computed, cached and the floor, taking turns document
    by document."""
    seconds = {"computed": [], "cached": [], FLOOR: []}
    cpu = {name: 0.0 for name in seconds}
    with httpx.Client(base_url=server.url, timeout=300) as http, \
            httpx.Client(base_url=floor.url, timeout=300) as bare:
        one_shot(http, docs[0], "pdf")  # warm-up: the pool's first conversion (uncounted, and now cached)
        bare.post("/stored", content=docs[0].read_bytes()).raise_for_status()
        for doc in docs[1:]:
            outputs = []
            for contender in ("computed", "cached"):
                before, started = tree_cpu_seconds(server.pid), time.perf_counter()
                outputs.append(one_shot(http, doc, "pdf"))
                seconds[contender].append(time.perf_counter() - started)
                cpu[contender] += tree_cpu_seconds(server.pid) - before
            if not outputs[0].startswith(b"%PDF-") or outputs[0] != outputs[1]:
                raise RuntimeError(f"{doc.name}: the cached result differs from the computed one")
            before, started = tree_cpu_seconds(floor.pid), time.perf_counter()
            answer = bare.post("/stored", content=doc.read_bytes())
            seconds[FLOOR].append(time.perf_counter() - started)
            cpu[FLOOR] += tree_cpu_seconds(floor.pid) - before
            if answer.content != doc.read_bytes():
                raise RuntimeError("the floor answered other bytes")
        cached = http.get("/api/conversions", params={"limit": 2}).json()["conversions"]
        if [c["cached"] for c in cached] != [True, False]:
            raise RuntimeError(f"the second conversion was not answered from the cache: {cached}")
    return {name: (values, cpu[name]) for name, values in seconds.items()}


def upload(http: httpx.Client, src: Path) -> str:
    uploaded = http.post("/api/files", params={"filename": src.name}, content=src.read_bytes())
    uploaded.raise_for_status()
    return uploaded.json()["id"]


def queue(http: httpx.Client, file_id: str) -> str:
    job = http.post("/api/conversions", json={"file_id": file_id, "to": "jpeg", "cache": False})
    if job.status_code != 202:
        raise RuntimeError(f"Anclora answered {job.status_code}: {job.text[:300]}")
    return job.json()["id"]


def finished(http: httpx.Client, ids: list[str], timeout: float = 900) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        rows = [http.get(f"/api/conversions/{conversion_id}").json() for conversion_id in ids]
        if all(row["status"] in ("succeeded", "failed") for row in rows):
            if any(row["status"] == "failed" for row in rows):
                raise RuntimeError(f"a conversion failed: {[r for r in rows if r['status'] == 'failed'][0]}")
            return rows
        if time.monotonic() > deadline:
            raise RuntimeError("the conversions did not finish in time")
        time.sleep(0.2)


def when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def fair_share_run(server, images: list[Path], single: Path) -> dict[str, float]:
    with httpx.Client(base_url=server.url, timeout=300) as tenant_a, \
            httpx.Client(base_url=server.url, timeout=300) as tenant_b:
        files, lone_file = [upload(tenant_a, image) for image in images], upload(tenant_b, single)
        batch = [queue(tenant_a, file_id) for file_id in files]  # uploaded first, so the batch is queued at once
        lone = queue(tenant_b, lone_file)
        position = tenant_b.get(f"/api/conversions/{lone}").json()["queue_position"]
        rows = finished(tenant_a, batch)
        [mine] = finished(tenant_b, [lone])
    fair_wait = (when(mine["started_at"]) - when(mine["created_at"])).total_seconds()
    own_run = (when(mine["finished_at"]) - when(mine["started_at"])).total_seconds()
    batch_done = max(when(row["finished_at"]) for row in rows)
    fifo_wait = (batch_done - when(mine["created_at"])).total_seconds() - own_run
    ahead = sum(1 for row in rows if when(row["finished_at"]) > when(mine["created_at"])
                and when(row["started_at"]) < when(mine["started_at"]))
    waiting = sum(1 for row in rows if when(row["finished_at"]) > when(mine["created_at"]))  # FIFO runs them first
    return {"fair": fair_wait, "fifo": fifo_wait, "ahead": ahead, "position": position, "waiting": waiting,
            "median_job": statistics.median((when(r["finished_at"]) - when(r["started_at"])).total_seconds()
                                            for r in rows)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=11, help="docx documents (the first is a warm-up)")
    parser.add_argument("--batch", type=int, default=50, help="conversions the busy tenant queues")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown to FILE")
    args = parser.parse_args()
    rng = random.Random(20261203)
    work = Path(tempfile.mkdtemp(prefix="anclora-bench-scheduling-"))
    server = floor = None
    try:
        (work / "in").mkdir()
        docs = [work / "in" / f"doc{i:02d}.docx" for i in range(args.documents)]
        for doc in docs:
            make_docx(doc, rng, paragraphs=rng.randint(20, 60))
        images = [work / "in" / f"img{i:02d}.png" for i in range(args.batch + 1)]
        for image in images:
            make_png(image, rng, (1600, 1200))
        load = os.getloadavg()[0]
        server, floor = start_anclora(work / "cache"), start_floor(work)
        cache = cache_run(server, floor, docs)
        server.stop()
        floor.stop()
        floor = fair = None
        if args.batch:
            server = start_anclora(work / "fair", workers=1, office=False)
            fair = fair_share_run(server, images[:-1], images[-1])
            server.stop()
        server = None
    finally:
        for running in (server, floor):
            if running is not None:
                running.stop()
        shutil.rmtree(work, ignore_errors=True)
    print_results(args, cache, fair, load)
    return 0


def print_results(args, cache: dict, fair: dict, load: float) -> None:
    computed = statistics.median(cache["computed"][0])
    count = len(cache["computed"][0])
    cache_rows = [[name, f"{statistics.median(values):.4f}", f"{cpu / count:.4f}",
                   f"{computed / statistics.median(values):.1f}x"] for name, (values, cpu) in cache.items()]
    sections = [
        (f"{count} docx -> pdf through POST /api/convert, computed then cached, and the floor (load average "
         f"{load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)",
         ["contender", "median s/document", "server CPU s/document", "speed vs computed"], cache_rows)]
    if fair:
        fair_rows = [["fair share (measured)", f"{fair['fair']:.2f}", str(fair["ahead"])],
                     ["first come, first served (from the same run)", f"{fair['fifo']:.2f}", str(fair["waiting"])]]
        sections.append(
            (f"one-job tenant behind a {args.batch}-job tenant, one worker (median job {fair['median_job']:.3f} s; "
             f"queue_position when queued: {fair['position']})",
             ["order", "wait s", "batch conversions it waited for"], fair_rows))
    markdown = []
    for title, columns, rows in sections:
        print(f"\n{title}:\n{text_table(columns, rows)}")
        markdown.append(f"{title}\n\n{markdown_table(columns, rows)}")
    if args.markdown:
        Path(args.markdown).write_text("\n\n".join(markdown) + "\n")


if __name__ == "__main__":
    sys.exit(main())
