"""Small converters for the job tests: fast text ones, a chain, a failing one, and slow ones with child processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from anclora import ConversionFailed, Converter, hookimpl
from anclora.engines import sandbox, worker
from anclora.errors import PaymentRequired

UPLOAD_LIMIT = 1_000_000  # what anclora_authorize_upload allows
REFUSED_SIZE = 402  # anclora_authorize_conversion refuses inputs of exactly this many bytes

PIDS: list[int] = []  # engine processes started by the slow converters, for the no-survivors checks
EVENTS: list[tuple[str, str, int]] = []  # (hook, conversion id, progress) in the order the hooks fired
AUTHORIZED: list[dict] = []  # every `conversion` anclora_authorize_conversion was asked about
HOLD_PROGRESS: list = []  # an asyncio.Event put here makes anclora_conversion_progress wait for it
WEIGHTS: dict[str, float] = {}  # owner_key -> weight in the fair share, for the fair-share tests


class UpperText(Converter):
    name = "upper_text"
    sources = ("txt",)
    targets = ("md",)
    cost = 2
    options = {
        "type": "object",
        "properties": {"repeat": {"type": "integer", "minimum": 1, "maximum": 3},
                       "exclaim": {"type": "boolean"}},
        "additionalProperties": False,
    }

    async def convert(self, src, dst, options, ctx):
        text = src.read_text("utf-8").upper() * options.get("repeat", 1)
        await ctx.progress(50)
        dst.write_text(text + ("!" if options.get("exclaim") else ""), "utf-8")


class MarkdownToHtml(Converter):
    name = "md_to_html"
    sources = ("md",)
    targets = ("html",)
    cost = 3
    options = {"type": "object", "properties": {"title": {"type": "string", "maxLength": 20}},
               "additionalProperties": False}

    async def convert(self, src, dst, options, ctx):
        title = options.get("title", "")
        dst.write_text(f"<!doctype html><title>{title}</title><pre>{src.read_text('utf-8')}</pre>", "utf-8")


class BrokenYaml(Converter):
    name = "broken_yaml"
    sources = ("yaml",)
    targets = ("json",)

    async def convert(self, src, dst, options, ctx):
        raise ConversionFailed("this yaml is not acceptable")


class SleepyCsv(Converter):
    """Runs `sleep 1000 & sleep 1000` in the sandbox: only cancellation or a timeout ends it."""

    name = "sleepy_csv"
    sources = ("csv",)
    targets = ("json",)

    async def convert(self, src, dst, options, ctx):
        await _sleep_forever(ctx)


class HungTsv(Converter):
    name = "hung_tsv"
    sources = ("tsv",)
    targets = ("json",)
    limits = {"timeout": 1.5}

    async def convert(self, src, dst, options, ctx):
        await _sleep_forever(ctx)


async def _sleep_forever(ctx) -> None:
    await ctx.progress(5)
    await sandbox.run(["sh", "-c", "sleep 1000 & echo $!; echo $$; sleep 1000"], cwd=ctx.workdir,
                      timeout=ctx.timeout, on_stdout_line=lambda line: PIDS.append(int(line)))


class ProbeHtml(Converter):
    """Runs `_probe_worker.py` the way the bundled Python converters run theirs (warm in a server)."""

    name = "probe_html"
    sources = ("html",)
    targets = ("txt",)
    limits = {"timeout": 2}
    options = {"type": "object", "additionalProperties": False, "properties": {
        "mode": {"enum": ["report", "hang"]}, "port": {"type": "integer"}, "pidfile": {"type": "string"}}}

    async def convert(self, src, dst, options, ctx):
        await worker.run_worker(Path(__file__).with_name("_probe_worker.py"), src, dst, "html", options, ctx,
                                memory_bytes=512 * 2**20, cpu_seconds=10, timeout=self.limits["timeout"])


class BrokenWorkerXml(Converter):
    name = "broken_worker_xml"
    sources = ("xml",)
    targets = ("txt",)

    async def convert(self, src, dst, options, ctx):
        await worker.run_worker(Path(__file__).with_name("_broken_worker.py"), src, dst, "xml", options, ctx,
                                memory_bytes=512 * 2**20, cpu_seconds=10, timeout=10)


class HeldRst(Converter):
    """Held by the test through files, so it works in worker processes too: on start, appends its input's text to
    GATE/started, then finishes once the file GATE/<that text> exists."""

    name = "held_rst"
    sources = ("rst",)
    targets = ("txt",)
    options = {"type": "object", "properties": {"gate": {"type": "string"}}, "required": ["gate"],
               "additionalProperties": False}

    async def convert(self, src, dst, options, ctx):
        label, gate = src.read_text("utf-8").strip(), Path(options["gate"])
        with open(gate / "started", "a") as log:
            log.write(label + "\n")
        while not (gate / label).exists():
            await asyncio.sleep(0.01)
        dst.write_text(f"done {label}", "utf-8")


class MissingEngine(Converter):
    name = "missing_engine"
    sources = ("txt",)
    targets = ("pdf",)
    engine = "nonexistent"
    executables = ("anclora-no-such-engine",)
    install = "apt-get install anclora-no-such-engine"


@hookimpl
def anclora_register_converters():
    return [UpperText(), MarkdownToHtml(), BrokenYaml(), SleepyCsv(), HungTsv(), ProbeHtml(), BrokenWorkerXml(),
            HeldRst(), MissingEngine()]


def _record(hook):
    def implementation(ctx, conversion):
        EVENTS.append((hook, conversion["id"], conversion["progress"]))
    implementation.__name__ = f"anclora_conversion_{hook}"
    return hookimpl(implementation)


anclora_conversion_queued = _record("queued")
anclora_conversion_started = _record("started")


@hookimpl
def anclora_conversion_progress(ctx, conversion):
    EVENTS.append(("progress", conversion["id"], conversion["progress"]))
    return HOLD_PROGRESS[0].wait() if HOLD_PROGRESS else None


anclora_conversion_finished = _record("finished")
anclora_conversion_failed = _record("failed")
anclora_conversion_canceled = _record("canceled")


@hookimpl
def anclora_authorize_conversion(ctx, identity, conversion):
    AUTHORIZED.append(dict(conversion))
    if conversion["input_size"] == REFUSED_SIZE:
        raise PaymentRequired("Not enough credits for this one.", details={"checkout_url": "https://pay.example/1"})


@hookimpl
def anclora_authorize_upload(ctx, identity, declared_size, starting):
    return UPLOAD_LIMIT


@hookimpl(tryfirst=True)  # before the plan's weight
def anclora_queue_weight(ctx, identity):
    return WEIGHTS.get(identity.owner_key)
