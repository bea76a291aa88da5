"""S3 upload benchmark: a large upload through Anclora's S3 backend against the same file sent by boto3's
`upload_file` alone (its defaults, and two threads as Anclora's two parts in flight), to the same S3 server
(moto's, in its own process), and through a floor (bench/_s3_floor_server.py: a bare Tornado app that streams the
body into 8 MiB parts with `upload_part`, two in flight, fed by the same curl as Anclora), rounds alternating; then
concurrent uploads through Anclora (`--concurrency 0`: none).

    .venv/bin/python bench/s3_upload.py [--rounds 3] [--size-mib 500] [--concurrency 20] [--small-mib 25]
                                        [--baseline TREE]

Reports medians: MB/s of each and its per-round ratio to `upload_file` (target for Anclora >= 0.8), Anclora's RSS
growth over idle during the large upload (target <= 32 MB) and during the concurrent ones (target <= 96 MB), CPU
seconds per upload of Anclora or the floor, of the boto3 process and of the S3 server, the requests the S3 server
logged per upload (by operation), and the load average. `--baseline TREE` adds a second Anclora server running the
package of another source tree (`git archive <commit> | tar -x -C TREE`) on the same S3 server, taking its turn
in every round: a change measured against what it changed, in the same run.
"""

from __future__ import annotations

import argparse
import json
import collections
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (VENV_BIN, ProcessSampler, Server, cpu_ticks, curl, curl_argv, curl_many, free_port,  # noqa: E402
                     median, rss_pss_kib, settle, text_table)

MiB = 1024 * 1024
MB = 1000 * 1000
BUCKET = "bench"
# moto's access log: `"PUT /bench/key?partNumber=1&uploadId=... HTTP/1.1" 200`
REQUEST_LINE = re.compile(r'"([A-Z]+) /[^ ?]*\??(\S*) HTTP/[0-9.]+" (\d+)')
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
# boto3 alone, in a process of its own: the library's managed upload, with its defaults (8 MiB parts, 10 threads)
# or with the two parts in flight that Anclora keeps per upload
UPLOAD_FILE = """
import boto3, resource, sys, time
from boto3.s3.transfer import TransferConfig
client = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
started = time.perf_counter()
client.upload_file(sys.argv[2], "bench", sys.argv[3], Config=TransferConfig(max_concurrency=int(sys.argv[4])))
usage = resource.getrusage(resource.RUSAGE_SELF)
print(time.perf_counter() - started, usage.ru_utime + usage.ru_stime)
"""


def start_moto(work: Path) -> Server:
    port = free_port()
    return Server("moto", [str(VENV_BIN / "python"), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                  url=f"http://127.0.0.1:{port}", ready_path="/", cwd=work, log=work / "moto.log")


def start_floor(work: Path, endpoint: str) -> Server:
    port = free_port()
    return Server("floor", [str(VENV_BIN / "python"), str(Path(__file__).resolve().parent / "_s3_floor_server.py"),
                            str(port), endpoint, BUCKET], url=f"http://127.0.0.1:{port}", ready_path="/",
                  env=CREDENTIALS, cwd=work, log=work / "floor.log")


def start_anclora(work: Path, endpoint: str, tree: Path | None = None) -> Server:
    """`anclora serve` on SQLite in `work`; with `tree`, the `anclora` package of that source tree."""
    port = free_port()
    work.mkdir(parents=True, exist_ok=True)
    limits = {"anonymous": {"max_upload_bytes": 600 * MiB, "uploads_per_minute": 10 ** 6}}
    env = {"UPLOAD_FOLDER": str(work / "scratch"), "DATABASE_URL": f"sqlite:///{work}/anclora.db",
           "ANCLORA_PORT": str(port), "JWT_SECRET_KEY": secrets.token_hex(32), "MAX_CONTENT_LENGTH": str(600 * MiB),
           "ANCLORA_PLAN_LIMITS": json.dumps(limits), "ANCLORA_STORAGE_URL": f"s3://{BUCKET}/anclora",
           "ANCLORA_S3_ENDPOINT_URL": endpoint, "LOG_LEVEL": "WARNING", **CREDENTIALS,
           **({"PYTHONPATH": str(tree)} if tree else {})}
    return Server("baseline" if tree else "anclora", [str(VENV_BIN / "anclora"), "serve", "--migrate"], url=f"http://127.0.0.1:{port}",
                  ready_path="/api/health", env=env, cwd=work, log=work / "anclora.log")


def make_payload(path: Path, size: int) -> Path:
    with open(path, "wb") as out:
        for offset in range(0, size, MiB):
            out.write(os.urandom(min(MiB, size - offset)))
    return path


def empty_bucket(client) -> None:
    """Objects and multipart uploads go after each run: moto keeps them in its memory."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    for upload in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
        client.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])


def logged_requests(moto: Server, since: int) -> collections.Counter:
    """The requests moto logged past byte `since` of its log, by operation (method and query parameter names)."""
    with open(moto.log, "rb") as log:
        log.seek(since)
        text = log.read().decode(errors="replace")
    kinds: collections.Counter = collections.Counter()
    for method, query, _ in REQUEST_LINE.findall(text):
        names = "&".join(sorted(field.partition("=")[0] for field in query.split("&") if field))
        kinds[f"{method}{' ?' + names if names else ''}"] += 1
    return kinds


def with_s3_counts(moto: Server, run) -> dict:
    """`run()`'s figures with the S3 server's CPU seconds and the requests it logged meanwhile."""
    since, ticks = moto.log.stat().st_size, cpu_ticks(moto.pid)
    result = run()
    result["moto_cpu"] = (cpu_ticks(moto.pid) - ticks) / os.sysconf("SC_CLK_TCK")
    result["requests"] = logged_requests(moto, since)
    return result


def server_once(server: Server, path: str, payload: Path) -> dict:
    """One upload by curl to `server` (Anclora or the floor), its CPU and RSS."""
    idle = rss_pss_kib(server.pid)[0] / 1024
    with ProcessSampler(server.pid) as sampler:
        transfer = curl(curl_argv(f"{server.url}{path}", payload, method="POST"))
    if transfer.status != 201 or json.loads(transfer.body)["size"] != payload.stat().st_size:
        raise RuntimeError(f"{server.name} answered {transfer.status}: {transfer.body[:300]}")
    return {"mbps": payload.stat().st_size / MB / transfer.seconds, "cpu": sampler.usage.cpu_seconds,
            "growth": sampler.usage.process_rss - idle}


def boto3_once(moto: Server, payload: Path, threads: int) -> dict:
    out = subprocess.run([str(VENV_BIN / "python"), "-c", UPLOAD_FILE, moto.url, str(payload), "alone.bin",
                          str(threads)],
                         env={**os.environ, **CREDENTIALS}, capture_output=True, text=True, check=True).stdout
    seconds, cpu = map(float, out.split())
    return {"mbps": payload.stat().st_size / MB / seconds, "cpu": cpu}


def concurrent_once(anclora: Server, payload: Path, count: int) -> dict:
    idle = rss_pss_kib(anclora.pid)[0] / 1024
    with ProcessSampler(anclora.pid) as sampler:
        seconds, transfers = curl_many([curl_argv(f"{anclora.url}/api/files", payload, method="POST")
                                        for _ in range(count)])
    bad = [t.status for t in transfers if t.status != 201]
    if bad:
        raise RuntimeError(f"concurrent uploads answered {bad}")
    return {"seconds": seconds, "cpu": sampler.usage.cpu_seconds / count, "growth": sampler.usage.process_rss - idle}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20, help="0: no concurrent uploads")
    parser.add_argument("--small-mib", type=int, default=25)
    parser.add_argument("--idle", type=float, default=2.0, help="quiet seconds before each run")
    parser.add_argument("--baseline", type=Path, metavar="TREE",
                        help="also upload through an Anclora server running the package of this source tree")
    args = parser.parse_args()
    import boto3

    with tempfile.TemporaryDirectory(prefix="anclora-s3-bench-") as folder:
        work = Path(folder)
        moto = start_moto(work).start()
        servers: list[Server] = []
        try:
            client = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1",
                                  aws_access_key_id="bench", aws_secret_access_key="bench")
            client.create_bucket(Bucket=BUCKET)
            servers.append(start_anclora(work / "anclora", moto.url).start())
            servers.append(start_floor(work, moto.url).start())
            if args.baseline:
                servers.append(start_anclora(work / "baseline", moto.url, args.baseline.resolve()).start())
            results = run_rounds(args, moto, client, servers, make_payload(work / "big.bin", args.size_mib * MiB),
                                 make_payload(work / "small.bin", args.small_mib * MiB))
            report(results, args)
        finally:
            for server in servers:
                server.stop()
            moto.stop()
    return 0


def run_rounds(args: argparse.Namespace, moto: Server, client, servers: list[Server], big: Path, small: Path
               ) -> dict[str, list]:
    """Every contender once a round, in turn (the order reversed every other round), then the concurrent uploads."""
    anclora, floor, *baseline = servers
    order = [("anclora", lambda: server_once(anclora, "/api/files?filename=big.bin", big)),
             ("floor", lambda: server_once(floor, "/upload", big)),
             ("boto3", lambda: boto3_once(moto, big, 10)), ("boto3-2", lambda: boto3_once(moto, big, 2))]
    if baseline:
        order.insert(1, ("baseline", lambda: server_once(baseline[0], "/api/files?filename=big.bin", big)))
    results: dict[str, list] = {name: [] for name, _ in order}
    results.update(concurrent=[], load=[])
    for number in range(args.rounds):
        print(f"round {number + 1}/{args.rounds}", file=sys.stderr)
        results["load"].append(os.getloadavg()[0])
        for name, run in order if number % 2 == 0 else order[::-1]:
            settle(args.idle)
            results[name].append(with_s3_counts(moto, run))
            empty_bucket(client)
        if args.concurrency:
            settle(args.idle)
            results["concurrent"].append(concurrent_once(anclora, small, args.concurrency))
            empty_bucket(client)
    return results


LABELS = {"anclora": "through Anclora (S3 backend)", "baseline": "through Anclora, baseline tree",
          "floor": "through the floor (Tornado + upload_part)", "boto3": "by boto3 upload_file alone",
          "boto3-2": "by boto3 upload_file, 2 threads"}


def report(results: dict, args: argparse.Namespace) -> None:
    b = results["boto3"]

    def ratio(runs: list[dict], to: list[dict]) -> str:  # median of per-round ratios of MB/s
        return f"{median([x['mbps'] / y['mbps'] for x, y in zip(runs, to)]):.2f}"

    def row(name: str) -> list[str]:
        runs = results[name]
        return [f"{args.size_mib} MiB {LABELS[name]}", f"{median([r['mbps'] for r in runs]):.1f}", ratio(runs, b),
                f"{median([r['cpu'] for r in runs]):.2f}", f"{median([r['moto_cpu'] for r in runs]):.2f}",
                f"{median([sum(r['requests'].values()) for r in runs]):.0f}",
                f"{median([r['growth'] for r in runs]):.1f}" if "growth" in runs[0] else "-"]

    rows = [row(name) for name in LABELS if name in results]
    c = results["concurrent"]
    if c:
        rows.append([f"{args.concurrency} x {args.small_mib} MiB at once through Anclora",
                     f"{args.concurrency * args.small_mib * MiB / MB / median([r['seconds'] for r in c]):.1f}", "-",
                     f"{median([r['cpu'] for r in c]):.2f} each", "-", "-", f"{median([r['growth'] for r in c]):.1f}"])
    print(text_table(["run", "MB/s", "/ upload_file", "server or client CPU s", "S3 server CPU s", "S3 requests",
                      "RSS growth MiB"], rows))
    print("\nS3 requests per upload (last round): " + "; ".join(
        f"{name}: " + ", ".join(f"{kind} x{count}" for kind, count in sorted(results[name][-1]["requests"].items()))
        for name in LABELS if name in results))
    a, f = results["anclora"], results["floor"]
    print(f"Anclora / upload_file MB/s, median of per-round ratios: {ratio(a, b)} (target >= 0.80); "
          f"the floor / upload_file: {ratio(f, b)}; Anclora / floor: {ratio(a, f)}"
          + (f"; Anclora / baseline tree: {ratio(a, results['baseline'])}" if "baseline" in results else ""))
    print(f"rounds: {args.rounds}; load average (1 min) at each round: "
          + ", ".join(f"{load:.1f}" for load in results["load"]))
    print(f"at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


if __name__ == "__main__":
    sys.exit(main())
