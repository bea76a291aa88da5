"""The run machinery: one run at a time, cancel and timeouts that leave no process, private work folders,
variables validated and never templated, events and history."""

from __future__ import annotations

import glob
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from anclora.db.models.ops_run import OpsRun
from anclora.errors import Conflict, ValidationFailed
from anclora.ops.service import OpsService
from ops_project import make_project, new_marker, processes_with
from rawhttp import eventually


@pytest.fixture
def ops(anclora_ctx, tmp_path) -> OpsService:
    return OpsService(anclora_ctx, project_dir=make_project(tmp_path))


def run_dir_of(marker: str) -> list[Path]:
    """The private work folder of the run given this marker (its variables file holds it)."""
    return [Path(path).parent for path in glob.glob("/tmp/anclora-run-*/admin-vars.yml")
            if marker in Path(path).read_text()]


async def test_hung_playbook_times_out_and_leaves_no_process(ops):
    ops.idle_timeout = 10  # seconds without output: the sleeping task prints nothing
    marker = new_marker()
    started = time.monotonic()
    run = await ops.start("hang", {"marker": marker})
    await eventually(lambda: processes_with(marker), timeout=60)
    [work_dir] = run_dir_of(marker)
    assert work_dir.stat().st_mode & 0o777 == 0o700  # private while it runs
    assert "!unsafe" in (work_dir / "admin-vars.yml").read_text()
    run = await ops.wait(run["id"])
    assert run["status"] == "failed" and "timed out" in run["message"]
    assert time.monotonic() - started < 60
    assert processes_with(marker) == []
    assert not work_dir.exists()  # the work folder is gone


async def test_second_run_is_refused_until_the_first_is_canceled(ops, tmp_path):
    marker = new_marker()
    first = await ops.start("hang", {"marker": marker})
    await eventually(lambda: processes_with(marker), timeout=60)
    with pytest.raises(Conflict):
        await ops.start("quick", {"word": "hello", "out": f"/tmp/anclora-quick-{marker}"})
    await ops.cancel(first["id"])
    first = await ops.wait(first["id"])
    assert first["status"] == "canceled"
    assert processes_with(marker) == []
    out = Path(f"/tmp/anclora-quick-{marker}")
    second = await ops.wait((await ops.start("quick", {"word": "hello", "out": str(out)}))["id"])
    try:
        assert second["status"] == "successful" and out.read_text() == "hello"
    finally:
        out.unlink(missing_ok=True)


async def test_events_stream_and_the_history_hides_secrets(ops, anclora_ctx):
    out = Path(f"/tmp/anclora-quick-{uuid.uuid4().hex}")
    run = await ops.start("quick", {"word": "hi", "out": str(out), "token": "s3cret-token"})
    events = [event async for event in ops.events(run["id"])]
    out.unlink(missing_ok=True)
    # (a `verbose` event is what ansible prints outside the playbook, such as a library's deprecation warning)
    kinds = [event["event"] for event in events if event["event"] != "verbose"]
    assert kinds[0] == "playbook_on_start" and kinds[-1] == "playbook_on_stats"
    assert any(event.get("task") == "Write the word" and event.get("changed") for event in events)
    run = await ops.wait(run["id"])
    assert run["stats"] == {"localhost": {"ok": 1, "changed": 1}}
    assert run["extravars"] == {"word": "hi", "out": str(out), "token": "***"}
    async with anclora_ctx.sessionmaker() as session:
        stored = await session.get(OpsRun, run["id"])
    assert "s3cret-token" not in repr(stored.extravars) and stored.finished_at is not None


@pytest.mark.parametrize("playbook, extravars", [
    ("update", {"version": "{{ lookup('pipe', 'id') }}"}),
    ("update", {}),  # version is required
    ("update", {"version": "v2", "anclora_home": "/"}),  # site settings are not admin variables
    ("restore", {"date": "20260101T000000Z", "target_upload_folder": "/var/../etc"}),
    ("maintenance", {"schedule": "hourly"}),
    ("backup", {"retention_days": "30"}),
])
async def test_invalid_variables_are_refused_before_anything_runs(anclora_ctx, playbook, extravars):
    ops = OpsService(anclora_ctx)
    with pytest.raises(ValidationFailed):
        await ops.start(playbook, extravars)
    async with anclora_ctx.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OpsRun)) == 0
