"""Chromium benchmark: HTML -> PDF through the warm pool against a new `chromium --headless --print-to-pdf` per
document; with `--clients`, the DevTools client the pool uses (our pipe client) against Playwright.

    .venv/bin/python bench/chromium.py [--documents 20] [--rounds 3] [--clients] [--markdown FILE]

Documents: generated HTML pages (a heading, a CSS grid, 20-60 paragraphs, a table). Each round converts every
document once with each contender, taking turns document by document (who goes first alternates), one document at
a time:
  - pool: the `chromium_pdf` converter (plugins/chromium.py) on a warm ChromiumPool of one browser, as a server's
    job runs it (the document laid out in a job folder, served through the DevTools Fetch domain, output checked,
    the browser's tab reset for the next job);
  - one-shot: `chromium --headless --print-to-pdf` started per document with a fresh profile, in the same network
    namespace and clean environment as the pool's browsers.
CPU seconds: this process plus the browser's process group (pool), or the finished child processes (one-shot).
`--clients` (needs the `bench` extra's playwright; never `playwright install`: Debian's /usr/bin/chromium is used):
the same pages through Playwright's `page.pdf()` on one launched browser, a new context per page, every request
answered by `page.route` from the folder, against the pool; plus each one's start-up time and client memory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, rss_pss_kib, text_table, tree_pids  # noqa: E402

from anclora import config  # noqa: E402
from anclora.engines import sandbox  # noqa: E402
from anclora.engines.chromium_pool import FLAGS, ChromiumPool, browser_argv  # noqa: E402
from anclora.conversion.converter import ConversionContext  # noqa: E402
from anclora.engines.office_pool import group_processes  # noqa: E402
from anclora.conversion.registry import collect_converters  # noqa: E402
from anclora.plugins import make_plugin_manager  # noqa: E402

WORDS = ("anchor harbour ledger tide river stone paper signal copper lantern meadow orbit quarry velvet "
         "willow ember falcon granite hollow island jasmine kettle marble nectar").split()
TICKS = os.sysconf("SC_CLK_TCK")


def make_page(path: Path, rng: random.Random) -> None:
    paragraphs = "".join(f"<p>{' '.join(rng.choice(WORDS) for _ in range(rng.randint(30, 90)))}.</p>"
                         for _ in range(rng.randint(20, 60)))
    rows = "".join(f"<tr><td>{rng.choice(WORDS)}</td><td>{rng.randint(1, 999)}</td></tr>" for _ in range(15))
    path.write_text(f"""<!doctype html><html><head><meta charset="utf-8"><title>{path.stem}</title><style>
body {{ font-family: sans-serif; }} .grid {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; }}
.grid div {{ background: #eef; padding: 4px; }} table {{ border-collapse: collapse; }} td {{ border: 1px solid #999; }}
</style></head><body><h1>{path.stem}</h1><div class="grid"><div>one</div><div>two</div><div>three</div></div>
{paragraphs}<table>{rows}</table></body></html>""", encoding="utf-8")


def converter():
    settings = config.load(environ={}, overrides={"plugins_entrypoints": False, "jwt_secret_key": "b" * 40},
                           dotenv=None)
    return collect_converters(make_plugin_manager(settings))["chromium_pdf"]


def group_cpu(pgid: int) -> float:
    """CPU seconds of a process group's live processes, with those of the children they have reaped."""
    total = 0
    for pid in group_processes(pgid):
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        except OSError:
            continue
    return total / TICKS


def own_cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class PoolContender:
    def __init__(self, work: Path):
        self.work = work
        self.pool = ChromiumPool(size=1, recycle_after=10_000)
        self.converter = converter()

    async def start(self) -> float:
        started = time.perf_counter()
        await self.pool.start()
        return time.perf_counter() - started

    def cpu(self) -> float:
        return own_cpu() + sum(group_cpu(browser.pgid) for browser in self.pool.browsers.values())

    async def convert(self, src: Path, dst: Path) -> None:
        job = self.work / f"job-{dst.stem}"
        job.mkdir()
        source = job / "input.html"
        shutil.copyfile(src, source)
        ctx = ConversionContext(job, "html", "pdf", resources={"chromium_pool": self.pool})
        await self.converter.convert(source, dst, {}, ctx)
        shutil.rmtree(job)


class OneShotContender:
    def __init__(self, work: Path):
        self.work = work

    def cpu(self) -> float:
        return own_cpu() + own_cpu(resource.RUSAGE_CHILDREN)

    async def convert(self, src: Path, dst: Path) -> None:
        profile = self.work / f"profile-{dst.stem}"
        argv = [arg for arg in browser_argv(profile) if arg != "--remote-debugging-pipe"]
        result = await sandbox.run([*argv, "--no-pdf-header-footer", f"--print-to-pdf={dst}", src.as_uri()],
                                   cwd=self.work, timeout=120, limits=sandbox.Limits(cpu_seconds=120))
        shutil.rmtree(profile, ignore_errors=True)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.decode(errors="replace")[-500:])


class PlaywrightContender:
    """Playwright driving /usr/bin/chromium: one browser, a new context per page, requests served by page.route."""

    def __init__(self, work: Path):
        self.work = work
        self.manager = self.playwright = self.browser = None

    async def start(self) -> float:
        from playwright.async_api import async_playwright

        started = time.perf_counter()
        self.manager = async_playwright()
        self.playwright = await self.manager.start()
        self.browser = await self.playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[flag for flag in FLAGS if flag not in ("--headless", "--remote-debugging-pipe")])
        return time.perf_counter() - started

    def cpu(self) -> float:
        return own_cpu() + sum(_process_cpu(pid) for pid in tree_pids(os.getpid())[1:])

    def client_pss_kib(self) -> int:
        return sum(rss_pss_kib(pid)[1] for pid in tree_pids(os.getpid())[1:]
                   if b"node" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0])

    async def convert(self, src: Path, dst: Path) -> None:
        body = src.read_bytes()
        context = await self.browser.new_context()
        page = await context.new_page()

        async def serve(route):
            if route.request.url == "http://document.invalid/index.html":
                await route.fulfill(status=200, content_type="text/html", body=body)
            else:
                await route.abort("blockedbyclient")
        await page.route("**/*", serve)
        await page.goto("http://document.invalid/index.html")
        await page.pdf(path=str(dst), format="A4", margin={side: "1cm" for side in ("top", "bottom", "left", "right")})
        await context.close()

    async def close(self) -> None:
        await self.browser.close()
        await self.manager.__aexit__(None, None, None)


def _process_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return sum(int(value) for value in fields[11:15]) / TICKS
    except OSError:
        return 0.0


async def timed_alternately(docs: list[Path], contenders: dict, out: Path, rounds: int) -> dict[str, dict]:
    """Per contender: each round's total seconds, every document's seconds, and CPU seconds per document."""
    results = {name: {"totals": [], "seconds": [], "cpu": []} for name in contenders}
    for round_number in range(rounds):
        totals = dict.fromkeys(contenders, 0.0)
        for index, doc in enumerate(docs):
            order = list(contenders.items())
            if (index + round_number) % 2:
                order.reverse()
            for name, contender in order:
                dst = out / f"{name.split()[0]}-{round_number}-{index:02d}.pdf"
                cpu, started = contender.cpu(), time.perf_counter()
                await contender.convert(doc, dst)
                seconds = time.perf_counter() - started
                results[name]["cpu"].append(contender.cpu() - cpu)
                if not dst.read_bytes().startswith(b"%PDF-"):
                    raise RuntimeError(f"{name} made no PDF of {doc.name}")
                totals[name] += seconds
                results[name]["seconds"].append(seconds)
        for name, total in totals.items():
            results[name]["totals"].append(total)
    return results


def rows(results: dict[str, dict], reference: str, count: int) -> list[list[str]]:
    ref_total = statistics.median(results[reference]["totals"])
    table = []
    for name, values in results.items():
        total = statistics.median(values["totals"])
        table.append([name, f"{statistics.median(values['seconds']):.3f}", f"{total:.2f}",
                      f"{count / total:.2f}", f"{statistics.median(values['cpu']):.3f}",
                      f"{total / ref_total:.2f}x"])
    return table


HEADERS = ["contender", "median s/document", "total s (median of rounds)", "documents/s",
           "CPU s/document (median)", "time vs pool"]


async def run(args, work: Path) -> list[tuple[str, list[str], list[list[str]]]]:
    rng = random.Random(20261203)
    docs = [work / "in" / f"page{i:02d}.html" for i in range(args.documents)]
    (work / "in").mkdir()
    (work / "out").mkdir()
    for doc in docs:
        make_page(doc, rng)
    sections = []
    pool = PoolContender(work)
    try:
        await pool.start()
        await pool.convert(docs[0], work / "warm-up.pdf")
        load = os.getloadavg()
        results = await timed_alternately(docs, {"pool (warm browser)": pool,
                                                 "one-shot chromium per document": OneShotContender(work)},
                                          work / "out", args.rounds)
        sections.append((f"{args.documents} html -> pdf, one at a time, {args.rounds} rounds (load average "
                         f"{load[0]:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} cores)",
                         HEADERS, rows(results, "pool (warm browser)", args.documents)))
        if args.clients:
            sections.append(await compare_clients(args, docs, work, pool))
    finally:
        await pool.pool.close()
    return sections


async def compare_clients(args, docs: list[Path], work: Path, pool: PoolContender):
    playwright = PlaywrightContender(work)
    try:
        started = await playwright.start()
        await playwright.convert(docs[0], work / "warm-up-playwright.pdf")
        fresh = PoolContender(work)
        pool_start = await fresh.start()
        await fresh.pool.close()
        results = await timed_alternately(docs, {"pool (pipe client)": pool, "Playwright": playwright},
                                          work / "out", args.rounds)
        table = rows(results, "pool (pipe client)", args.documents)
        table[0].append(f"{pool_start:.2f} s, none (in process)")
        table[1].append(f"{started:.2f} s, node driver {playwright.client_pss_kib() / 1024:.0f} MiB PSS")
    finally:
        await playwright.close()
    return (f"DevTools client: {args.documents} html -> pdf on one warm browser, {args.rounds} rounds",
            HEADERS + ["start-up, client process"], table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", action="store_true", help="also compare the pipe client with Playwright")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown to FILE")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="anclora-bench-chromium-"))
    try:
        sections = asyncio.run(run(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    markdown = []
    for title, columns, table in sections:
        print(f"\n{title}:\n{text_table(columns, table)}")
        markdown.append(f"{title}\n\n{markdown_table(columns, table)}")
    if args.markdown:
        Path(args.markdown).write_text("\n\n".join(markdown) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
