"""One ansible-runner execution: a private data directory, the bundled project, timeouts, events as they come."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from .playbooks import write_unsafe_vars

RUN_TAG = "ANCLORA_OPS_RUN"  # in the environment of every process a run starts, so none is lost
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
    message: str | None = None  # the last task failure, as Ansible worded it


def summarize_event(event: dict[str, Any]) -> dict[str, Any]:
    """The part of an ansible event worth sending to an admin: what ran, where, and how it went."""
    data = event.get("event_data") or {}
    summary = {"counter": event.get("counter"), "event": event.get("event"), "created": event.get("created")}
    summary.update({field: data[field] for field in _EVENT_FIELDS if field in data})
    result = data.get("res")
    if isinstance(result, dict):
        summary["changed"] = bool(result.get("changed"))
        if result.get("msg") and event.get("event") in ("runner_on_failed", "runner_on_unreachable"):
            detail = str(result.get("stderr") or "").strip().splitlines()[-1:]  # a failed command's last word
            summary["msg"] = " ".join([str(result["msg"])] + detail)[:STDOUT_LIMIT]
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
        RUN_TAG: data_dir.name,
        "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")]),
        "ANSIBLE_LOCAL_TEMP": str(data_dir / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
    }


def _tagged_processes(tag: str) -> dict[int, tuple[int, str]]:
    """pid -> (session id, command line) of the live processes whose environment carries this run's tag."""
    wanted = f"{RUN_TAG}={tag}".encode()
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if wanted not in Path(entry.path, "environ").read_bytes().split(b"\0"):
                continue
            stat = Path(entry.path, "stat").read_text()
            session = int(stat.rsplit(")", 1)[1].split()[3])
            found[int(entry.name)] = (session, Path(entry.path, "cmdline").read_bytes().decode(errors="replace"))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
    return found


def kill_leftovers(tag: str) -> None:
    """Kill what a stopped run left running. ansible-runner kills ansible-playbook's process group, but each
    Ansible worker has a session of its own, and the module it runs (a hung command) lives on in it. Services the
    run started on purpose (start-stop-daemon, systemd) sit in sessions of their own and are left alone."""
    processes = _tagged_processes(tag)
    sessions = {session for session, command in processes.values() if "ansible-playbook" in command}
    for pid, (session, _) in processes.items():
        if session in sessions:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def execute(spec: RunSpec, on_event: Callable[[dict[str, Any]], None], cancel: threading.Event) -> RunOutcome:
    """Run the playbook to the end (blocking; call from a worker thread, never the main one)."""
    data_dir = Path(tempfile.mkdtemp(prefix="anclora-run-"))  # mode 0700, removed below whatever happens
    stats: dict[str, Any] = {}
    last_failure: str | None = None  # the last failed task's message: what the run's record shows

    def handle(event: dict[str, Any]) -> bool:
        nonlocal last_failure
        summary = summarize_event(event)
        if "stats" in summary:
            stats.update(summary["stats"])
        if "msg" in summary and not summary.get("ignore_errors"):
            last_failure = f"{summary.get('task', '')}: {summary['msg']}"
        on_event(summary)
        return False  # nothing of the run is kept on disk

    try:
        vars_file = data_dir / "admin-vars.yml"
        write_unsafe_vars(vars_file, spec.extravars)
        # ansible-runner forgets settings passed in memory unless env/settings exists, so write them there
        (data_dir / "env").mkdir()
        (data_dir / "env" / "settings").write_text(json.dumps(
            {"idle_timeout": int(spec.idle_timeout), "pexpect_timeout": 0.5, "suppress_output_file": True}))
        import ansible_runner  # here, not at import: serving processes that never run a playbook skip it

        result = ansible_runner.run(
            private_data_dir=str(data_dir), project_dir=str(spec.project_dir), playbook=spec.playbook_file,
            inventory=spec.inventory, cmdline=_cmdline(spec, vars_file), envvars=_environment(data_dir),
            limit=spec.limit, tags=spec.tags, skip_tags=spec.skip_tags, quiet=True, suppress_env_files=True,
            event_handler=handle, cancel_callback=cancel.is_set, timeout=int(spec.job_timeout))
        if result.status in ("canceled", "timeout"):
            kill_leftovers(data_dir.name)
        return RunOutcome(result.status, result.rc, stats, last_failure)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
