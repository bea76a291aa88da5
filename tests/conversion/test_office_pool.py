"""The LibreOffice warm pool: one profile per instance, recycling by count and by memory, replacement of crashed
and hung instances with no survivors, its metrics, and a clean close."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
import pytest_asyncio

from anclora.engines.office_pool import OfficeInstance, OfficePool, group_processes
from anclora.errors import ConversionTimeout
from anclora.metrics import Metrics
from anclora.sniff import sniff
from samples import write_odt

pytestmark = pytest.mark.asyncio(loop_scope="module")
RECYCLE_AFTER = 3


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool():
    async with OfficePool(size=2, recycle_after=RECYCLE_AFTER, ping_timeout=2, metrics=Metrics()) as pool:
        await pool.start()
        yield pool


@pytest.fixture
def document(tmp_path) -> Path:
    return write_odt(tmp_path / "document.odt", ["Pool test"])


async def convert(pool: OfficePool, src: Path, name: str, timeout: float = 60):
    dst = src.with_name(name)
    run = await pool.convert(src, dst, "pdf", timeout=timeout)
    assert sniff(dst) == "pdf"
    return run


def idle_instance(pool: OfficePool) -> OfficeInstance:
    return next(instance for instance in pool.instances.values() if instance.state == "idle")


def soffice_bin(instance: OfficeInstance) -> int:
    """The pid of the real engine process (soffice.bin) in the instance's process group."""
    for pid in group_processes(instance.pgid):
        if Path(f"/proc/{pid}/comm").read_text().strip() == "soffice.bin":
            return pid
    raise AssertionError("no soffice.bin in the instance's group")


def gauge(pool: OfficePool, state: str) -> float:
    return pool.metrics.registry.get_sample_value("anclora_engine_pool_instances",
                                                  {"engine": "libreoffice", "state": state})


async def test_two_concurrent_conversions_use_different_profiles(pool, document):
    await pool.start()  # all instances ready and idle
    assert gauge(pool, "idle") == 2 and gauge(pool, "busy") == 0
    first, second = await asyncio.gather(convert(pool, document, "a.pdf"), convert(pool, document, "b.pdf"))
    assert first.profile != second.profile
    assert first.pid != second.pid and first.pgid != second.pgid


async def test_instances_run_without_network_and_without_our_environment(pool):
    await pool.start()
    engine = soffice_bin(idle_instance(pool))
    assert os.readlink(f"/proc/{engine}/ns/net") != os.readlink("/proc/self/ns/net")
    environment = Path(f"/proc/{engine}/environ").read_bytes().split(b"\0")
    assert "PYTEST_CURRENT_TEST" in os.environ
    leaked = (b"PYTEST_CURRENT_TEST=", b"VIRTUAL_ENV=", b"DATABASE_URL=")
    assert not any(entry.startswith(leaked) for entry in environment)


async def test_each_profile_is_hardened(pool):
    await pool.start()
    for instance in pool.instances.values():
        settings = (instance.profile / "user" / "registrymodifications.xcu").read_text(encoding="utf-8")
        for path, name, value in [("Security/Scripting", "MacroSecurityLevel", "3"),
                                  ("Security/Scripting", "DisableMacrosExecution", "true"),
                                  ("Security/Scripting", "BlockUntrustedRefererLinks", "true"),
                                  ("Office.Writer/Content/Update", "Link", "0"),
                                  ("Office.Calc/Content/Update", "Link", "1")]:
            assert f'{path}"><prop oor:name="{name}" oor:op="fuse"><value>{value}</value>' in settings


async def test_an_instance_is_recycled_after_n_conversions(pool, document):
    await pool.start()
    runs = [await convert(pool, document, f"r{n}.pdf") for n in range(2 * RECYCLE_AFTER + 2)]
    by_instance: dict[int, list] = {}
    for run in runs:
        by_instance.setdefault(run.instance, []).append(run)
    recycled = [history for history in by_instance.values() if len({run.pid for run in history}) > 1]
    assert recycled, "no instance was recycled"
    for history in recycled:
        old = [run for run in history if run.pid == history[0].pid]
        assert len(old) <= RECYCLE_AFTER
        assert group_processes(history[0].pgid) == {}  # the old soffice and its bridge are gone
        assert history[-1].profile != history[0].profile


async def test_an_instance_over_the_memory_threshold_is_recycled(pool, document):
    await pool.start()
    pool.max_rss_bytes = 1  # every instance is over it after its next conversion
    try:
        run = await convert(pool, document, "m.pdf")
    finally:
        pool.max_rss_bytes = 1024 * 2**20
    await pool.start()
    assert pool.instances[run.instance].pid != run.pid
    assert group_processes(run.pgid) == {}


async def test_a_killed_soffice_is_replaced_and_the_next_conversion_succeeds(pool, document):
    await pool.start()
    victim = idle_instance(pool)
    replaced_before = pool.replacements
    os.kill(soffice_bin(victim), signal.SIGKILL)
    # two at once, so the dead instance is certainly picked by one of them
    runs = await asyncio.gather(convert(pool, document, "k1.pdf"), convert(pool, document, "k2.pdf"))
    assert all(run.pid != victim.pid for run in runs)
    assert pool.replacements > replaced_before
    assert group_processes(victim.pgid) == {}
    await pool.start()
    assert pool.instances[victim.number] is not victim
    assert (await convert(pool, document, "k3.pdf")).pid != victim.pid


async def test_a_stopped_instance_group_is_replaced_with_no_survivors(pool, document):
    await pool.start()
    victim = idle_instance(pool)
    os.killpg(victim.pgid, signal.SIGSTOP)  # bridge and soffice hang: the ping times out
    runs = await asyncio.gather(convert(pool, document, "s1.pdf"), convert(pool, document, "s2.pdf"))
    assert all(run.pgid != victim.pgid for run in runs)
    assert group_processes(victim.pgid) == {}
    assert not any(path.exists() for path in victim.sockets())
    assert not victim.folder.exists()


async def test_a_conversion_that_hangs_times_out_and_its_instance_is_killed(pool, document):
    await pool.start()
    victim = idle_instance(pool)
    os.kill(soffice_bin(victim), signal.SIGSTOP)  # the bridge answers pings; the conversion itself hangs
    results = await asyncio.gather(convert(pool, document, "h1.pdf", timeout=5),
                                   convert(pool, document, "h2.pdf", timeout=5), return_exceptions=True)
    timeouts = [result for result in results if isinstance(result, ConversionTimeout)]
    assert len(timeouts) == 1 and timeouts[0].status == 504
    assert group_processes(victim.pgid) == {}
    run = await convert(pool, document, "h3.pdf")
    assert run.pgid != victim.pgid


async def test_close_leaves_nothing_behind(document):
    pool = OfficePool(size=1)
    run = await convert(pool, document, "c.pdf")
    [instance] = pool.instances.values()
    await pool.close()
    assert group_processes(run.pgid) == {}
    assert not pool.root.exists()
    assert not any(path.exists() for path in instance.sockets())
