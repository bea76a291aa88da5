"""Conversion benchmark: documents and images through Anclora's API against the usual ways of doing it by hand.

    .venv/bin/python bench/convert.py [--documents N] [--images N] [--markdown FILE] [--baseline TREE]

Documents (docx -> pdf), each contender one document at a time, after one warm-up conversion:
  - Anclora: `POST /api/convert?to=pdf` on a running server (its warm LibreOffice pool, plugins/office.py);
  - soffice: a new `soffice --headless --convert-to pdf` process per document (a reused profile);
  - unoserver: one `unoserver` (run by LibreOffice's own Python) and its XML-RPC client.
Images (png -> jpeg), at each of `--image-sizes` (a screen-sized picture and a 12-megapixel photo by default),
taking turns image by image: `POST /api/convert?to=jpeg` against direct
`PIL.Image.open(...).convert("RGB").save(..., quality=85)` calls in this process (the same output as Anclora's
default). Beside them, the floor any HTTP converter stands on (bench/_floor_server.py, a bare Tornado app): Pillow
run inside the server, and Pillow run in a child forked per image. Every output is checked (PDF or JPEG magic).
Prints per-item medians, totals, the ratios to Anclora and, for images, each one's overhead over Pillow's time
and its mean CPU seconds per image (the server's process tree, forked children included; Pillow direct: this
process's), which a loaded machine stretches much less than the clock. `--baseline TREE` adds, for images, a
second Anclora server running the package from another source tree (`git archive <commit> | tar -x -C TREE`),
taking its turn with the others: a change measured against what it changed, in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import VENV_BIN, Server, free_port, markdown_table, text_table, tree_pids  # noqa: E402

BASELINE = "Anclora API, baseline tree"
UNO_PYTHON = "/usr/bin/python3"  # Debian's python3-uno lives in the system Python
WORDS = ("anchor harbour ledger tide river stone paper signal copper lantern meadow orbit quarry velvet "
         "willow ember falcon granite hollow island jasmine kettle marble nectar").split()
BENCH_LIMITS = ('{"anonymous": {"conversions_per_day": 100000, "free_conversions_per_day": 100000, '
                '"uploads_per_minute": 100000, "concurrent_jobs": 100}}')

DOCX_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>',
}


def make_docx(path: Path, rng: random.Random, paragraphs: int) -> None:
    """A real WordprocessingML document of a few pages: a heading and paragraphs of varied text."""
    def run(text: str, bold: bool = False) -> str:
        return f'<w:r>{"<w:rPr><w:b/></w:rPr>" if bold else ""}<w:t xml:space="preserve">{text}</w:t></w:r>'

    body = [f"<w:p>{run(f'Report {path.stem}', bold=True)}</w:p>"]
    for _ in range(paragraphs):
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90))).capitalize() + "."
        body.append(f"<w:p>{run(sentence)}</w:p>")
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                f'<w:body>{"".join(body)}</w:body></w:document>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in DOCX_PARTS.items():
            archive.writestr(name, content)
        archive.writestr("word/document.xml", document)


def make_png(path: Path, rng: random.Random, size: tuple[int, int]) -> None:
    """A photo-like PNG: smooth gradients plus noise, so the encoders have real work."""
    from PIL import Image, ImageFilter

    noise = Image.effect_noise(size, rng.randint(20, 60)).convert("RGB")
    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    Image.blend(noise, gradient, 0.6).filter(ImageFilter.GaussianBlur(1)).save(path)


def check(path: Path, magic: bytes) -> None:
    with open(path, "rb") as handle:
        if handle.read(len(magic)) != magic:
            raise RuntimeError(f"{path} is not the expected output")


def timed_alternately(items: list[Path], contenders: dict[str, Callable[[Path, Path], None]], out_dir: Path,
                      suffix: str, magic: bytes) -> dict[str, list[float]]:
    """Seconds per item for each contender, converting one item at a time after one uncounted warm-up each; the
    contenders take turns item by item, so that a change in the machine's load weighs on each of them alike."""
    for name, convert in contenders.items():
        (out_dir / name).mkdir(parents=True, exist_ok=True)
        convert(items[0], out_dir / name / f"warmup.{suffix}")
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    for item in items:
        for name, convert in contenders.items():
            target = out_dir / name / f"{item.stem}.{suffix}"
            started = time.perf_counter()
            convert(item, target)
            seconds[name].append(time.perf_counter() - started)
            check(target, magic)
    return seconds


def timed(items: list[Path], convert: Callable[[Path, Path], None], out_dir: Path, suffix: str,
          magic: bytes) -> list[float]:
    """`timed_alternately` with one contender."""
    return timed_alternately(items, {out_dir.name: convert}, out_dir.parent, suffix, magic)[out_dir.name]


CPU: dict[str, list[float]] = {}  # CPU seconds per image by contender (the server's whole process tree)


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process tree, children it has reaped included (forked converters that have exited)."""
    total = 0
    for member in tree_pids(pid):
        try:
            with open(f"/proc/{member}/stat") as handle:
                fields = handle.read().rpartition(")")[2].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def cpu_counted(name: str, convert: Callable[[Path, Path], None], pid: int | None) -> Callable[[Path, Path], None]:
    """`convert`, recording the CPU seconds each call costs: the server's (`pid`), or this process's when None."""
    def counted(src: Path, dst: Path) -> None:
        before = tree_cpu(pid) if pid else time.process_time()
        convert(src, dst)
        CPU.setdefault(name, []).append((tree_cpu(pid) if pid else time.process_time()) - before)
    return counted


def start_anclora(work: Path, workers: int | None = None, office: bool = True, tree: Path | None = None) -> Server:
    """`anclora serve` on SQLite in `work`; with `office`, its LibreOffice pool started with it (idle LibreOffice
    processes would otherwise count in the server's CPU time for nothing); with `tree`, the `anclora` package of
    that source tree instead of the installed one."""
    port = free_port()
    work.mkdir(parents=True, exist_ok=True)
    env = {**({"PYTHONPATH": str(tree)} if tree else {}),
           "DATABASE_URL": f"sqlite:///{work}/anclora.db", "UPLOAD_FOLDER": str(work / "uploads"),
           "JWT_SECRET_KEY": "bench-" + "x" * 40, "LOG_LEVEL": "WARNING", "ANCLORA_OFFICE_POOL_SIZE": "2",
           "ANCLORA_OFFICE_POOL_PRESTART": "true" if office else "false", "ANCLORA_PLAN_LIMITS": BENCH_LIMITS,
           "ANCLORA_PLUGINS_ENTRYPOINTS": "false", **({"ANCLORA_WORKERS": str(workers)} if workers else {})}
    return Server("anclora", [str(VENV_BIN / "anclora"), "serve", "--migrate", "--port", str(port)],
                  url=f"http://127.0.0.1:{port}", ready_path="/api/health", cwd=work, log=work / "anclora.log",
                  env=env).start()


def api_converter(http: httpx.Client, target: str) -> Callable[[Path, Path], None]:
    def convert(src: Path, dst: Path) -> None:
        # cache=false: every conversion is computed (the warm-up's item comes round again)
        response = http.post("/api/convert", params={"to": target, "filename": src.name, "cache": "false"},
                             content=src.read_bytes())
        if response.status_code != 200:
            raise RuntimeError(f"Anclora answered {response.status_code}: {response.text[:300]}")
        dst.write_bytes(response.content)
    return convert


def floor_converter(http: httpx.Client, path: str) -> Callable[[Path, Path], None]:
    def convert(src: Path, dst: Path) -> None:
        response = http.post(path, content=src.read_bytes())
        response.raise_for_status()
        dst.write_bytes(response.content)
    return convert


def start_floor(work: Path) -> Server:
    port = free_port()
    return Server("floor", [str(VENV_BIN / "python"), str(Path(__file__).with_name("_floor_server.py")), str(port)],
                  url=f"http://127.0.0.1:{port}", ready_path="/api/health", cwd=work, log=work / "floor.log").start()


def soffice_converter(profile: Path) -> Callable[[Path, Path], None]:
    def convert(src: Path, dst: Path) -> None:
        subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                        "--convert-to", "pdf", "--outdir", str(dst.parent), str(src)],
                       check=True, capture_output=True, timeout=300)
        (dst.parent / f"{src.stem}.pdf").replace(dst)
    return convert


def start_unoserver(work: Path) -> tuple[subprocess.Popen, int]:
    """unoserver from the venv's package, run by LibreOffice's Python (it needs `uno`)."""
    import unoserver

    lib = work / "unolib"
    lib.mkdir()
    package = Path(unoserver.__file__).parent
    (lib / "unoserver").symlink_to(package)
    for info in package.parent.glob("unoserver-*.dist-info"):
        (lib / info.name).symlink_to(info)
    port, uno_port = free_port(), free_port()
    log = open(work / "unoserver.log", "wb")
    process = subprocess.Popen(
        [UNO_PYTHON, "-m", "unoserver.server", "--port", str(port), "--uno-port", str(uno_port),
         "--user-installation", str(work / "unoprofile")],
        env={**os.environ, "PYTHONPATH": str(lib)}, stdout=log, stderr=log, start_new_session=True)
    return process, port


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the process group we started, SIGKILL it if it lingers (unoserver waits on LibreOffice)."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def unoserver_converter(port: int) -> Callable[[Path, Path], None]:
    from unoserver.client import UnoClient

    client = UnoClient("127.0.0.1", str(port))

    def convert(src: Path, dst: Path) -> None:
        client.convert(inpath=str(src), outpath=str(dst), convert_to="pdf")
    return convert


def wait_for(convert: Callable[[Path, Path], None], src: Path, dst: Path, timeout: float = 120) -> None:
    """Retry the first conversion until the freshly started server accepts it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            convert(src, dst)
            return
        except (OSError, ConnectionError) as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"unoserver did not come up: {error}") from None
            time.sleep(0.5)


def pillow_converter(src: Path, dst: Path) -> None:
    from PIL import Image

    with Image.open(src) as image:
        image.convert("RGB").save(dst, "JPEG", quality=85)


def summary(name: str, seconds: list[float], reference: list[float]) -> list[str]:
    median, ref = statistics.median(seconds), statistics.median(reference)
    return [name, f"{median:.3f}", f"{sum(seconds):.2f}", f"{median / ref:.2f}x"]


def overhead(seconds: list[float], pillow: float) -> str:
    extra = statistics.median(seconds) - pillow
    return "" if abs(extra) < 1e-9 else f"{extra:.3f} s = {extra / pillow:.0%}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=20, help="docx documents (0: images only)")
    parser.add_argument("--images", type=int, default=20, help="images per size (0: documents only)")
    parser.add_argument("--image-sizes", default="1600x1200,4000x3000", help="comma-separated WxH")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown to FILE")
    parser.add_argument("--baseline", type=Path, metavar="TREE",
                        help="also time images on an Anclora server run from this source tree")
    args = parser.parse_args()
    rng = random.Random(20261128)
    work = Path(tempfile.mkdtemp(prefix="anclora-bench-convert-"))
    server = floor = baseline = None
    try:
        docs = [work / "in" / f"doc{i:02d}.docx" for i in range(args.documents)]
        sizes = [tuple(int(side) for side in size.split("x")) for size in args.image_sizes.split(",")]
        images = {size: [work / "in" / f"img{size[0]}x{size[1]}-{i:02d}.png" for i in range(args.images)]
                  for size in sizes}
        (work / "in").mkdir()
        for doc in docs:
            make_docx(doc, rng, paragraphs=rng.randint(20, 60))
        for size, paths in images.items():
            for image in paths:
                make_png(image, rng, size)

        server, floor = start_anclora(work, office=bool(docs)), start_floor(work)
        if args.baseline:
            baseline = start_anclora(work / "baseline", office=False, tree=args.baseline.resolve())
        with httpx.Client(base_url=server.url, timeout=300) as http, \
                httpx.Client(base_url=floor.url, timeout=300) as bare, \
                httpx.Client(base_url=(baseline or server).url, timeout=300) as before:
            doc_results = {"Anclora API (warm pool)": timed(docs, api_converter(http, "pdf"), work / "api", "pdf",
                                                            b"%PDF-")} if docs else {}
            contenders = {
                "Anclora API": cpu_counted("Anclora API", api_converter(http, "jpeg"), server.pid),
                "Pillow direct": cpu_counted("Pillow direct", pillow_converter, None),
                "bare HTTP, Pillow inline": cpu_counted("bare HTTP, Pillow inline", floor_converter(bare, "/inline"),
                                                        floor.pid),
                "bare HTTP, fork per image": cpu_counted("bare HTTP, fork per image",
                                                         floor_converter(bare, "/forked"), floor.pid)}
            if baseline:
                contenders[BASELINE] = cpu_counted(BASELINE, api_converter(before, "jpeg"), baseline.pid)
            image_results, image_cpu = {}, {}
            for size, paths in images.items():
                if paths:
                    CPU.clear()
                    image_results[size] = timed_alternately(paths, contenders, work / f"img-{size[0]}x{size[1]}",
                                                            "jpg", b"\xff\xd8\xff")
                    image_cpu[size] = {name: values[1:] for name, values in CPU.items()}  # (not the warm-up)
        for running in (server, floor, baseline):
            if running is not None:
                running.stop()
        server = floor = baseline = None
        if docs:
            doc_results.update(compared_documents(work, docs))
    finally:
        for running in (server, floor, baseline):
            if running is not None:
                running.stop()
        shutil.rmtree(work, ignore_errors=True)
    print_results(args, doc_results, image_results, image_cpu)
    return 0


def compared_documents(work: Path, docs: list[Path]) -> dict[str, list[float]]:
    """The documents through a new soffice process each, then through unoserver."""
    results = {"soffice per document": timed(docs, soffice_converter(work / "soprofile"), work / "soffice", "pdf",
                                             b"%PDF-")}
    unoserver_process, port = start_unoserver(work)
    try:
        uno = unoserver_converter(port)
        (work / "uno").mkdir()
        wait_for(uno, docs[0], work / "uno" / "first.pdf")
        results["unoserver"] = timed(docs, uno, work / "uno", "pdf", b"%PDF-")
    finally:
        stop_group(unoserver_process)
    return results


def print_results(args, doc_results: dict[str, list[float]], image_results: dict, image_cpu: dict) -> None:
    headers = ["contender", "median s/item", "total s", "median vs Anclora"]
    image_headers = headers + ["overhead over Pillow (medians)", "CPU s/item (mean)", "CPU over Pillow's"]
    sections = []
    if doc_results:
        doc_ref = doc_results["Anclora API (warm pool)"]
        doc_rows = [summary(name, values, doc_ref) for name, values in doc_results.items()]
        sections.append((f"{args.documents} docx -> pdf, one at a time (os.cpu_count()={os.cpu_count()})",
                         headers, doc_rows))
    for (width, height), results in image_results.items():
        pillow = statistics.median(results["Pillow direct"])
        cpu = image_cpu[(width, height)]
        # means, not medians: the kernel counts a server's CPU in ticks of 10 ms, coarser than what is measured
        pillow_cpu = statistics.fmean(cpu["Pillow direct"])
        rows = [summary(name, values, results["Anclora API"]) + [
            overhead(values, pillow), f"{statistics.fmean(cpu[name]):.4f}",
            "" if name == "Pillow direct" else f"{statistics.fmean(cpu[name]) - pillow_cpu:.4f} s"]
            for name, values in results.items()]
        floor = statistics.median(results["bare HTTP, fork per image"]) - pillow
        fixed = ", ".join(f"{name} {(statistics.median(results[name]) - pillow) / floor:.2f}x"
                          for name in ("Anclora API", BASELINE) if name in results)
        sections.append((f"{args.images} png ({width}x{height}) -> jpeg, one at a time (overhead over Pillow against "
                         f"the fork-per-image floor's: {fixed}; load average {os.getloadavg()[0]:.1f})",
                         image_headers, rows))
    markdown = []
    for title, columns, rows in sections:
        print(f"\n{title}:\n{text_table(columns, rows)}")
        markdown.append(f"{title}\n\n{markdown_table(columns, rows)}")
    if args.markdown:
        Path(args.markdown).write_text("\n\n".join(markdown) + "\n")


if __name__ == "__main__":
    sys.exit(main())
