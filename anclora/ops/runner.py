"""One ansible-runner execution: a private data directory, the bundled project, timeouts, events as they come."""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

import ansible_runner

from .playbooks import write_unsafe_vars

STDOUT_LIMIT = 4000  # characters of a task's output kept in an event
_EVENT_FIELDS = ("task", "play", "host", "ignore_errors", "role", "task_action")


@dataclasses.dataclass
class RunSpec:
    """Everything one run needs; built by the service, read by the worker thread."""
    project_dir: Path
    playbook_file: str
    inventory: str
    extravars: dict[str, Any] = dataclasses.field(default_factory=dict)
    vars_files: tuple[str, ...] = ()
    check: bool = False
    limit: str | None = None
    tags: str | None = None
    skip_tags: str | None = None
    job_timeout: float = 3600.0
    idle_timeout: float = 600.0


@dataclasses.dataclass
class RunOutcome:
    status: str  # successful | failed | canceled | timeout | error
    rc: int | None
    stats: dict[str, Any]


def summarize_event(event: dict[str, Any]) -> dict[str, Any]:
    """The part of an ansible event worth sending to an admin: what ran, where, and how it went."""
    data = event.get("event_data") or {}
    summary = {"counter": event.get("counter"), "event": event.get("event"), "created": event.get("created")}
    summary.update({field: data[field] for field in _EVENT_FIELDS if field in data})
    result = data.get("res")
    if isinstance(result, dict):
        summary["changed"] = bool(result.get("changed"))
        if result.get("msg") and event.get("event") in ("runner_on_failed", "runner_on_unreachable"):
            summary["msg"] = str(result["msg"])[:STDOUT_LIMIT]
    stdout = event.get("stdout") or ""
    if stdout:
        summary["stdout"] = stdout[-STDOUT_LIMIT:]
    if event.get("event") == "playbook_on_stats":
        summary["stats"] = host_stats(data)
    return summary


def host_stats(data: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per-host counts (ok, changed, failures, ...) from a playbook_on_stats event."""
    stats: dict[str, dict[str, int]] = {}
    for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored"):
        for host, count in (data.get(key) or {}).items():
            stats.setdefault(host, {})[key] = count
    return stats


def _cmdline(spec: RunSpec, vars_file: Path) -> str:
    args = [f"-e@{path}" for path in spec.vars_files]
    args.append(f"-e@{vars_file}")
    if spec.check:
        args += ["--check", "--diff"]
    return " ".join(shlex.quote(arg) for arg in args)


def _environment(data_dir: Path) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")]),
        "ANSIBLE_LOCAL_TEMP": str(data_dir / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
    }


def execute(spec: RunSpec, on_event: Callable[[dict[str, Any]], None], cancel: threading.Event) -> RunOutcome:
    """Run the playbook to the end (blocking; call from a worker thread, never the main one)."""
    data_dir = Path(tempfile.mkdtemp(prefix="anclora-ops-"))  # mode 0700, removed below whatever happens
    stats: dict[str, Any] = {}

    def handle(event: dict[str, Any]) -> bool:
        summary = summarize_event(event)
        if "stats" in summary:
            stats.update(summary["stats"])
        on_event(summary)
        return False  # nothing of the run is kept on disk

    try:
        vars_file = data_dir / "admin-vars.yml"
        write_unsafe_vars(vars_file, spec.extravars)
        result = ansible_runner.run(
            private_data_dir=str(data_dir), project_dir=str(spec.project_dir), playbook=spec.playbook_file,
            inventory=spec.inventory, cmdline=_cmdline(spec, vars_file), envvars=_environment(data_dir),
            limit=spec.limit, tags=spec.tags, skip_tags=spec.skip_tags, quiet=True, suppress_env_files=True,
            event_handler=handle, cancel_callback=cancel.is_set, timeout=int(spec.job_timeout),
            settings={"idle_timeout": int(spec.idle_timeout), "pexpect_timeout": 0.5,
                      "suppress_output_file": True})
        return RunOutcome(result.status, result.rc, stats)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
