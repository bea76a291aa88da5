"""A small Ansible project beside the bundled one: a quick playbook and one that hangs, for the run machinery."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

from anclora.ops.playbooks import BUNDLED_DIR

CATALOG = """
quick:
  summary: Write a word to a file.
  variables:
    word: {type: string, maxLength: 500}
    out: {type: string, pattern: "^/tmp/[A-Za-z0-9._/-]+$"}
    token: {type: string}
  secrets: [token]
hang:
  summary: Sleep far longer than anyone waits.
  variables:
    marker: {type: string, pattern: "^[a-z0-9]+$"}
"""

QUICK = """---
- name: Quick
  hosts: app
  gather_facts: false
  tasks:
    - name: Write the word
      ansible.builtin.copy:
        content: "{{ word | default('') }}"
        dest: "{{ out }}"
        mode: "0600"
"""

HANG = """---
- name: Hang
  hosts: app
  gather_facts: false
  tasks:
    - name: Sleep
      ansible.builtin.command:
        argv: [python3, -c, "import time; time.sleep(300)", "{{ marker }}"]
      changed_when: false
"""


def make_project(root: Path) -> Path:
    project = root / "project"
    (project / "inventory").mkdir(parents=True)
    shutil.copy(BUNDLED_DIR / "inventory/localhost.ini", project / "inventory/localhost.ini")
    (project / "catalog.yml").write_text(CATALOG)
    (project / "quick.yml").write_text(QUICK)
    (project / "hang.yml").write_text(HANG)
    return project


def new_marker() -> str:
    return uuid.uuid4().hex


def processes_with(marker: str) -> list[str]:
    """Live processes whose command line holds the marker (zombies have none)."""
    found = subprocess.run(["pgrep", "-a", "-f", marker], capture_output=True, text=True).stdout.splitlines()
    return [line for line in found if "pgrep" not in line]


async def run_playbook(ops, playbook: str, extravars: dict | None = None, **options) -> dict:
    """Start a run and wait for its end; the run's record."""
    started = await ops.start(playbook, extravars, **options)
    return await ops.wait(started["id"])
