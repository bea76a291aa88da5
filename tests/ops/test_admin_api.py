"""The admin operations API over HTTP: who may call it, starting and following a run, conflicts, cancelling."""

from __future__ import annotations

import uuid
from contextlib import aclosing
from pathlib import Path

import pytest

from anclora.accounts import tokens
from anclora.accounts.service import create_admin
from ops_project import make_project, new_marker, processes_with
from rawhttp import eventually
from sse import sse_events

PASSWORD = "correct horse battery staple"


@pytest.fixture
def anclora_overrides(tmp_path):
    return {"ops_playbooks_dir": str(make_project(tmp_path))}


@pytest.fixture
async def admin(anclora_ctx) -> dict:
    user = await create_admin(anclora_ctx, "root@example.org", PASSWORD)
    return {"Authorization": f"Bearer {tokens.issue_access(anclora_ctx.settings, user.id)}"}


async def sse(client, path: str, headers: dict) -> list[tuple[str, dict]]:
    """Every event of a Server-Sent Events stream until the server ends it."""
    return [event async for event in sse_events(client, path, headers)]


async def test_only_admins_may_use_operations(client, admin):
    assert (await client.get("/api/admin/ops/playbooks")).status_code == 401
    response = await client.post("/api/auth/register", json={"email": "user@example.org", "password": PASSWORD})
    user = {"Authorization": f"Bearer {response.json()['access_token']}"}
    response = await client.get("/api/admin/ops/playbooks", headers=user)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    response = await client.post("/api/admin/ops/runs", json={"playbook": "quick"}, headers=user)
    assert response.status_code == 403
    response = await client.get("/api/admin/ops/playbooks", headers=admin)
    assert response.status_code == 200
    assert {playbook["name"] for playbook in response.json()["playbooks"]} == {"quick", "hang"}


async def test_a_run_is_started_followed_and_recorded(client, admin):
    out = Path(f"/tmp/anclora-quick-{uuid.uuid4().hex}")
    response = await client.post("/api/admin/ops/runs", headers=admin,
                                 json={"playbook": "quick", "extravars": {"word": "over http", "out": str(out)}})
    assert response.status_code == 202 and response.json()["status"] == "running"
    run_id = response.json()["id"]
    assert response.headers["Location"] == f"/api/admin/ops/runs/{run_id}"
    events = await sse(client, f"/api/admin/ops/runs/{run_id}/events", admin)
    try:
        assert out.read_text() == "over http"
    finally:
        out.unlink(missing_ok=True)
    assert [kind for kind, _ in events][-1] == "end" and events[-1][1]["status"] == "successful"
    assert any(event.get("event") == "playbook_on_stats" for kind, event in events if kind == "ansible")
    run = (await client.get(f"/api/admin/ops/runs/{run_id}", headers=admin)).json()
    assert run["status"] == "successful" and run["rc"] == 0 and run["stats"]["localhost"]["changed"] == 1
    assert (await client.delete(f"/api/admin/ops/runs/{run_id}", headers=admin)).status_code == 409


async def test_bad_requests_and_variables_are_refused(client, admin):
    cases = [({"playbook": "nope"}, 404), ({"extravars": {}}, 400), ({"playbook": "quick", "extra": 1}, 400),
             ({"playbook": "quick", "extravars": {"out": "/etc/passwd"}}, 422),
             ({"playbook": "quick", "extravars": {"unknown": "x"}}, 422)]
    for body, status in cases:
        response = await client.post("/api/admin/ops/runs", json=body, headers=admin)
        assert response.status_code == status, (body, response.text)
    assert (await client.get(f"/api/admin/ops/runs/{uuid.uuid4()}", headers=admin)).status_code == 404


async def test_concurrent_runs_conflict_and_delete_cancels(client, admin):
    marker = new_marker()
    first = await client.post("/api/admin/ops/runs", json={"playbook": "hang", "extravars": {"marker": marker}},
                              headers=admin)
    assert first.status_code == 202
    second = await client.post("/api/admin/ops/runs", json={"playbook": "hang", "extravars": {"marker": marker}},
                               headers=admin)
    assert second.status_code == 409 and second.json()["error"]["code"] == "conflict"
    run_id = first.json()["id"]
    events = [kind async for kind in _kinds_until_task(client, run_id, admin)]
    assert "playbook_on_task_start" in events
    await eventually(lambda: processes_with(marker), timeout=60)
    assert (await client.delete(f"/api/admin/ops/runs/{run_id}", headers=admin)).status_code == 202
    ended = await sse(client, f"/api/admin/ops/runs/{run_id}/events", admin)
    assert ended[-1][1]["status"] == "canceled"
    assert processes_with(marker) == []


async def _kinds_until_task(client, run_id: str, headers: dict):
    """Follow the events until the hanging task has started."""
    async with aclosing(sse_events(client, f"/api/admin/ops/runs/{run_id}/events", headers)) as events:
        async for _, event in events:
            yield event.get("event")
            if event.get("event") == "runner_on_start":
                return
