"""Before and after: the server of this checkout against the server of a base git revision, in the same run.

    .venv/bin/python bench/versions.py [--base REV] [--rounds N] [--size-mib N] [--conversions N] [--tus-mib N]
                                       [--wrk-seconds N] [--markdown FILE]

Checks REV (default ffd2755, the last commit before the restructuring) out into a temporary git worktree, removed
at the end, and starts both servers side by side as `python -P -m anclora serve --migrate` with PYTHONPATH at each
tree's root, from a package-less venv per tree over this venv's dependencies (see `thin_venv`), each on a free
loopback port with its own SQLite database and upload folder. After one uncounted warm-up of each, every round
measures, the two versions taking turns (which goes first swaps every round):
  1. a raw `POST /api/files` of a --size-mib file with curl: MB/s and server CPU seconds per GiB;
  2. wrk on `/api/health`: requests/s, p99 and server CPU seconds per 10k requests;
  3. --conversions one-shot `POST /api/convert?to=jpeg` of a 1600x1200 PNG, alternating image by image: median
     latency and server CPU seconds per conversion;
  4. a tus upload of --tus-mib in 8 MiB PATCHes (0 leaves it out): MB/s and server CPU seconds per GiB.
Server CPU is utime + stime + cutime + cstime of the server's live process tree, so the image workers forked and
reaped by the warm worker count too. Every upload is checked by its sha256, every conversion by the JPEG magic.
Prints the medians of each version, current/base of the medians, the median of per-round ratios (the two ran
seconds apart) and the 1-minute load average at the start of each round.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (REPO, VENV_BIN, Server, curl, curl_argv, empty_folder, free_port,  # noqa: E402
                     markdown_table, median, settle, text_table, tree_pids, wrk)
from convert import make_png  # noqa: E402
from resumable import PIECE, Client, tus  # noqa: E402
from upload import make_payload  # noqa: E402

MiB = 1024 * 1024
GiB = 1024 * MiB
MB = 1000 * 1000
JPEG = b"\xff\xd8\xff"
# Anonymous callers may upload and convert as much as the benchmark asks (every key is valid in both versions).
LIMITS = {"anonymous": {"max_upload_bytes": 500 * MiB, "uploads_per_minute": 10 ** 6,
                        "conversions_per_day": 10 ** 6, "free_conversions_per_day": 10 ** 6, "concurrent_jobs": 4}}


@dataclasses.dataclass(frozen=True)
class Metric:
    key: str
    label: str
    higher_is_better: bool
    digits: int


def metrics(args: argparse.Namespace) -> list[Metric]:
    found = [
        Metric("upload_mbps", f"raw upload {args.size_mib} MiB, MB/s", True, 0),
        Metric("upload_cpu", "raw upload, server CPU s/GiB", False, 2),
        Metric("health_rps", "/api/health, requests/s", True, 0),
        Metric("health_p99", "/api/health, p99 ms", False, 1),
        Metric("health_cpu", "/api/health, server CPU s/10k requests", False, 2),
        Metric("convert_s", "png -> jpeg 1600x1200, median s", False, 3),
        Metric("convert_cpu", "png -> jpeg, server CPU s/conversion", False, 3),
    ]
    if args.tus_mib:
        found += [Metric("tus_mbps", f"tus {args.tus_mib} MiB in 8 MiB PATCHes, MB/s", True, 0),
                  Metric("tus_cpu", "tus, server CPU s/GiB", False, 2)]
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of `pid` and its live descendants, with what each has used through the children it reaped
    (cutime, cstime): a forked image worker lives a few tens of milliseconds, too short to be sampled."""
    ticks = 0
    for each in tree_pids(pid):
        try:
            with open(f"/proc/{each}/stat") as handle:
                fields = handle.read().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended between two reads
        ticks += sum(int(field) for field in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


# --- the two versions ----------------------------------------------------------------------------------------

@dataclasses.dataclass
class Version:
    name: str
    tree: Path  # the root the server imports anclora from
    work: Path  # its database, upload folder and log
    server: Server | None = None
    client: Client | None = None  # tus, keeping the anonymous session
    http: httpx.Client | None = None  # conversions

    @property
    def objects(self) -> Path:
        return self.work / "uploads" / "objects"


def add_worktree(rev: str, parent: Path) -> Path:
    tree = parent / "base-tree"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), rev], check=True,
                   capture_output=True, text=True)
    return tree


def remove_worktree(tree: Path) -> None:
    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)


def thin_venv(tree: Path, folder: Path) -> Path:
    """A venv without packages of its own that imports anclora from `tree` and the rest from this venv; returns its
    python. PYTHONPATH alone is not enough: the sandbox starts the warm worker with `-E -s` and a bare environment,
    where this venv's editable install would load this checkout's anclora whatever the server runs."""
    subprocess.run([str(VENV_BIN / "python"), "-m", "venv", "--without-pip", str(folder)], check=True)
    site_packages = folder / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (site_packages / "anclora-tree.pth").write_text(f"{tree}\n{sysconfig.get_paths()['purelib']}\n")
    return folder / "bin" / "python"


def start(version: Version) -> None:
    """`python -P -m anclora serve` from `version.tree`, after checking that this tree's package is what loads,
    in the server and in the workers it starts."""
    version.work.mkdir(parents=True)
    port = free_port()
    env = {"PYTHONPATH": str(version.tree), "DATABASE_URL": f"sqlite:///{version.work}/anclora.db",
           "UPLOAD_FOLDER": str(version.work / "uploads"), "JWT_SECRET_KEY": "bench-" + "x" * 40,
           "LOG_LEVEL": "WARNING", "ANCLORA_PLAN_LIMITS": json.dumps(LIMITS), "ANCLORA_PLUGINS_ENTRYPOINTS": "false",
           "ANCLORA_OFFICE_POOL_PRESTART": "false", "ANCLORA_WARM_WORKERS": "true"}
    python = str(thin_venv(version.tree, version.work / "venv"))
    for flags in (["-P"], ["-P", "-E", "-s"]):
        loaded = subprocess.run([python, *flags, "-c", "import anclora; print(anclora.__file__)"], check=True,
                                capture_output=True, text=True, env={**os.environ, **env}).stdout.strip()
        if not Path(loaded).is_relative_to(version.tree):
            raise RuntimeError(f"{version.name}: anclora loads from {loaded}, not from {version.tree}")
    version.server = Server(version.name, [python, "-P", "-m", "anclora", "serve", "--migrate", "--port", str(port)],
                            url=f"http://127.0.0.1:{port}", ready_path="/api/health", cwd=version.work,
                            log=version.work / "server.log", env=env).start()
    version.client = Client(version.server.url)
    version.http = httpx.Client(base_url=version.server.url, timeout=300)


def stop(version: Version) -> None:
    if version.http is not None:
        version.http.close()
    if version.server is not None:
        version.server.stop()


# --- one measurement of one version --------------------------------------------------------------------------

def raw_upload(version: Version, payload) -> dict[str, float]:
    argv = curl_argv(f"{version.server.url}/api/files?filename=bench.bin", payload.path, method="POST")
    before = tree_cpu_seconds(version.server.pid)
    transfer = curl(argv)
    cpu = tree_cpu_seconds(version.server.pid) - before
    answer = json.loads(transfer.body) if transfer.status == 201 else {}
    if answer.get("sha256") != payload.sha256:
        raise RuntimeError(f"{version.name}: upload answered {transfer.status}: {transfer.body[:300]}")
    empty_folder(version.objects)
    return {"upload_mbps": payload.size / MB / transfer.seconds, "upload_cpu": cpu / (payload.size / GiB)}


def health(version: Version, seconds: int, connections: int) -> dict[str, float]:
    before = tree_cpu_seconds(version.server.pid)
    rps, p99 = wrk(version.server.url + "/api/health", seconds=seconds, connections=connections)
    cpu = tree_cpu_seconds(version.server.pid) - before
    return {"health_rps": rps, "health_p99": p99, "health_cpu": cpu / (rps * seconds) * 10_000}


def convert_once(version: Version, png: bytes) -> float:
    started = time.perf_counter()
    response = version.http.post("/api/convert", params={"to": "jpeg", "filename": "bench.png"}, content=png)
    seconds = time.perf_counter() - started
    if response.status_code != 200 or not response.content.startswith(JPEG):
        raise RuntimeError(f"{version.name}: convert answered {response.status_code}: {response.text[:300]}")
    return seconds


def conversions(order: list[Version], png: bytes, count: int) -> dict[str, dict[str, float]]:
    """`count` conversions per version, taking turns image by image; each server's CPU from before its first
    conversion to after the others' last, so work it finishes after answering counts too."""
    before = {version.name: tree_cpu_seconds(version.server.pid) for version in order}
    seconds: dict[str, list[float]] = {version.name: [] for version in order}
    for _ in range(count):
        for version in order:
            seconds[version.name].append(convert_once(version, png))
    return {version.name: {"convert_s": median(seconds[version.name]),
                           "convert_cpu": (tree_cpu_seconds(version.server.pid) - before[version.name]) / count}
            for version in order}


def tus_upload(version: Version, path: Path, size: int, sha256: str) -> dict[str, float]:
    version.client.connection.close()  # the server has closed it while idle since last round; connect afresh
    before = tree_cpu_seconds(version.server.pid)
    started = time.perf_counter()
    file_id = tus(PIECE)(version.client, path, size)
    seconds = time.perf_counter() - started
    cpu = tree_cpu_seconds(version.server.pid) - before
    status, _, body = version.client.request("GET", f"/api/files/{file_id}", {})
    if status != 200 or json.loads(body)["sha256"] != sha256:
        raise RuntimeError(f"{version.name}: the tus upload became {status}: {body[:300]!r}")
    version.client.request("DELETE", f"/api/files/{file_id}", {})
    return {"tus_mbps": size / MB / seconds, "tus_cpu": cpu / (size / GiB)}


# --- the rounds ----------------------------------------------------------------------------------------------

def warm_up(versions: list[Version], payload, png: bytes) -> None:
    """One of everything per version, uncounted: the first conversion starts the warm worker."""
    for version in versions:
        raw_upload(version, payload)
        wrk(version.server.url + "/api/health", seconds=1, connections=2)
        convert_once(version, png)


def run_rounds(args: argparse.Namespace, versions: list[Version], payload, tus_payload, png: bytes) -> dict:
    results: dict[str, list[dict[str, float]]] = {version.name: [] for version in versions}
    loads = []
    for number in range(args.rounds):
        order = versions if number % 2 == 0 else versions[::-1]
        loads.append(os.getloadavg()[0])
        print(f"round {number + 1}/{args.rounds}, load {loads[-1]:.1f}, {order[0].name} first", file=sys.stderr)
        figures: dict[str, dict[str, float]] = {version.name: {} for version in versions}
        for version in order:
            settle(args.idle)
            figures[version.name].update(raw_upload(version, payload))
        for version in order:
            settle(args.idle)
            figures[version.name].update(health(version, args.wrk_seconds, args.wrk_connections))
        settle(args.idle)
        for name, values in conversions(order, png, args.conversions).items():
            figures[name].update(values)
        if tus_payload:
            for version in order:
                settle(args.idle)
                figures[version.name].update(tus_upload(version, *tus_payload))
        print("  " + "; ".join(f"{name}: " + ", ".join(f"{key} {value:.3g}" for key, value in values.items())
                               for name, values in figures.items()), file=sys.stderr)
        for version in versions:
            results[version.name].append(figures[version.name])
    return {"rounds": results, "loads": loads}


def table_rows(args: argparse.Namespace, results: dict) -> list[list[str]]:
    base, current = results["rounds"]["base"], results["rounds"]["current"]
    rows = []
    for metric in metrics(args):
        b, c = (median([figures[metric.key] for figures in runs]) for runs in (base, current))
        per_round = median([now[metric.key] / then[metric.key] for then, now in zip(base, current)])
        rows.append([metric.label, f"{b:.{metric.digits}f}", f"{c:.{metric.digits}f}", f"{c / b:.2f}",
                     f"{per_round:.2f}", "higher" if metric.higher_is_better else "lower"])
    return rows


HEADERS = ["measure", "base", "current", "current/base", "median of per-round ratios", "better"]


def describe(rev: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %s", rev], capture_output=True,
                          text=True).stdout.strip()[:90]


def report(args: argparse.Namespace, results: dict, started: float) -> str:
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    loads = ", ".join(f"{load:.1f}" for load in results["loads"])
    return (f"base: {describe(args.base)}\ncurrent: {describe('HEAD')}{' (with uncommitted changes)' if dirty else ''}"
            f"\n{os.cpu_count()} CPUs, Linux {platform.release()}, Python {platform.python_version()}; "
            f"{args.rounds} rounds, medians; {time.monotonic() - started:.0f} s in all\n"
            f"1-minute load average at the start of each round: {loads} (at the end: {os.getloadavg()[0]:.1f})")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="ffd2755", help="the git revision to compare against (default ffd2755)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--size-mib", type=int, default=200, help="raw upload size (default 200)")
    parser.add_argument("--conversions", type=int, default=20, help="conversions per version per round")
    parser.add_argument("--tus-mib", type=int, default=100, help="tus upload size in 8 MiB PATCHes (0: none)")
    parser.add_argument("--wrk-seconds", type=int, default=6)
    parser.add_argument("--wrk-connections", type=int, default=10)
    parser.add_argument("--idle", type=float, default=1.0, help="seconds of quiet before each measurement")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file as Markdown")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="anclora-bench-versions-", dir="/var/tmp"))
    versions = [Version("base", work / "base-tree", work / "base"), Version("current", REPO, work / "current")]
    try:
        add_worktree(args.base, work)
        payload = make_payload(work / "upload.bin", args.size_mib * MiB)
        tus_payload = None
        if args.tus_mib:
            small = make_payload(work / "tus.bin", args.tus_mib * MiB)
            tus_payload = (small.path, small.size, small.sha256)
        make_png(work / "picture.png", random.Random(20261203), (1600, 1200))
        png = (work / "picture.png").read_bytes()
        for version in versions:
            start(version)
        warm_up(versions, payload, png)
        results = run_rounds(args, versions, payload, tus_payload, png)
    finally:
        for version in versions:
            stop(version)
        remove_worktree(work / "base-tree")
        shutil.rmtree(work, ignore_errors=True)
    rows = table_rows(args, results)
    print(f"\n{report(args, results, started)}\n\n{text_table(HEADERS, rows)}")
    if args.markdown:
        args.markdown.write_text(f"{report(args, results, started)}\n\n{markdown_table(HEADERS, rows)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
