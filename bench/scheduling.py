"""Scheduling benchmark: a cached docx -> pdf against the computed one, and a one-job tenant's wait behind a
50-job tenant under fair share against first come, first served.

    .venv/bin/python bench/scheduling.py [--documents N] [--repeats N] [--baseline TREE] [--batch N]
                                         [--markdown FILE]

Cache: `anclora serve` with a warm LibreOffice pool (as bench/convert.py starts it); each of `--documents` docx
documents goes through `POST /api/convert?to=pdf` 1 + `--repeats` times in a row: the first is computed (a cache
miss), the others are answered from the result cache. Prints the medians, the ratio, and the server's CPU seconds
per request (its whole process tree, LibreOffice included; counted in clock ticks, so more repeats give finer
figures). Beside them, taking turns with them, the floor of an answer that converts nothing: the same document to
bench/_floor_server.py's `POST /stored` (a bare Tornado app that hashes the upload, writes it to a file, records
one row in SQLite and answers with the bytes), `--repeats` times. `--baseline TREE` adds a second server running
the package of another source tree, taking its turn document by document (`git archive main | tar -x -C TREE`).

Fair share (left out with `--batch 0`): a second server with one worker (`ANCLORA_WORKERS=1`). Tenant A (an
anonymous session) queues `--batch` png -> jpeg conversions (1600x1200, distinct pictures, `"cache": false`), then
tenant B queues one. B's wait is its `started_at - created_at`. First come, first served is not run: under it, B
would start once A's whole batch had finished; that moment is computed from this run's own timeline (the batch's
last finish, minus B's own run time, which the fair run spent before it).
"""

from __future__ import annotations

import argparse
import contextlib
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
BASELINE = "baseline tree, "


def timed(results: dict, name: str, pid: int, send, *args, **kwargs):
    """`send(*args, **kwargs)` timed, with the server's CPU seconds, into `results[name]`; what it answered."""
    before, started = tree_cpu_seconds(pid), time.perf_counter()
    answer = send(*args, **kwargs)
    results[name][0].append(time.perf_counter() - started)
    results[name][1].append(tree_cpu_seconds(pid) - before)
    return answer


def cache_run(servers: dict[str, object], floor, docs: list[Path], repeats: int) -> dict[str, tuple[list, list]]:
    """Seconds and server CPU seconds per request of computed, cached (`repeats` times per document) and the
    floor (as many), on each server (`servers`: name prefix -> server), taking turns document by document."""
    results = {f"{prefix}{name}": ([], []) for prefix in servers for name in ("computed", "cached")}
    results[FLOOR] = ([], [])
    with contextlib.ExitStack() as stack:
        clients = {prefix: stack.enter_context(httpx.Client(base_url=server.url, timeout=300))
                   for prefix, server in servers.items()}
        bare = stack.enter_context(httpx.Client(base_url=floor.url, timeout=300))
        for http in clients.values():
            one_shot(http, docs[0], "pdf")  # warm-up: the pool's first conversion (uncounted, and now cached)
        bare.post("/stored", content=docs[0].read_bytes()).raise_for_status()
        for doc in docs[1:]:
            for prefix, http in clients.items():
                pid = servers[prefix].pid
                outputs = [timed(results, f"{prefix}computed", pid, one_shot, http, doc, "pdf")]
                outputs += [timed(results, f"{prefix}cached", pid, one_shot, http, doc, "pdf")
                            for _ in range(repeats)]
                if not outputs[0].startswith(b"%PDF-") or any(output != outputs[0] for output in outputs):
                    raise RuntimeError(f"{doc.name}: the cached result differs from the computed one")
            for _ in range(repeats):
                answer = timed(results, FLOOR, floor.pid, bare.post, "/stored", content=doc.read_bytes())
                if answer.content != doc.read_bytes():
                    raise RuntimeError("the floor answered other bytes")
        for http in clients.values():
            cached = http.get("/api/conversions", params={"limit": repeats + 1}).json()["conversions"]
            if [c["cached"] for c in cached] != [True] * repeats + [False]:
                raise RuntimeError(f"the repeats were not answered from the cache: {cached}")
    return results


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
    parser.add_argument("--repeats", type=int, default=1, help="cached conversions per document (and floor "
                        "requests): more of them, finer CPU figures")
    parser.add_argument("--baseline", type=Path, metavar="TREE",
                        help="also a server running the package of another source tree (`git archive <commit> | "
                             "tar -x -C TREE`), taking its turn with this one: computed and cached on both")
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
        servers = {"": start_anclora(work / "cache")}
        floor = start_floor(work)
        if args.baseline:
            servers[BASELINE] = start_anclora(work / "baseline", tree=args.baseline.resolve())
        try:
            cache = cache_run(servers, floor, docs, args.repeats)
        finally:
            for running in servers.values():
                running.stop()
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
    count = len(cache["computed"][0])
    cache_rows = []
    for name, (seconds, cpu) in cache.items():
        own = cache[(BASELINE if name.startswith(BASELINE) else "") + "computed"][0]
        # (CPU is counted in clock ticks, 10 ms: only the mean over many requests says anything)
        cache_rows.append([name, f"{statistics.median(seconds):.4f}", f"{sum(cpu) / len(cpu):.4f}",
                           f"{statistics.median(own) / statistics.median(seconds):.1f}x"])
    sections = [
        (f"{count} docx -> pdf through POST /api/convert, computed then cached ({args.repeats} time(s) each), and "
         f"the floor (load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)",
         ["contender", "median s/request", "server CPU s/request (mean)", "speed vs computed (its tree's)"],
         cache_rows)]
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
