"""`scripts/setup.sh` installs once, then finds nothing to do until a packaging file changes, so that a second
`scripts/serve.sh` starts the server at once. Run on a copy of the packaging files with a stand-in virtualenv
whose python records each call."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STAND_IN = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/calls"
[ "$1" = "--version" ] && echo "anclora 0.1.0"
exit 0
"""


@pytest.fixture
def checkout(tmp_path):
    for name in ("setup.cfg", "setup.py", "scripts/setup.sh"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    bin_folder = tmp_path / ".venv" / "bin"
    bin_folder.mkdir(parents=True)
    for name in ("python", "anclora"):
        (bin_folder / name).write_text(STAND_IN)
        (bin_folder / name).chmod(0o755)
    return tmp_path


def setup(checkout: Path, *args: str) -> list[str]:
    """Run the script; the calls it made to the virtualenv's python and anclora."""
    calls = checkout / ".venv" / "bin" / "calls"
    calls.unlink(missing_ok=True)
    done = subprocess.run(["bash", str(checkout / "scripts" / "setup.sh"), *args], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return calls.read_text().splitlines() if calls.exists() else []


@pytest.mark.backend_independent
def test_the_install_runs_once_until_the_packaging_changes(checkout):
    assert any("pip install" in call and "-e" in call for call in setup(checkout))
    assert setup(checkout) == []  # nothing changed: nothing runs
    assert any("[bench]" in call for call in setup(checkout, "--bench"))  # more extras: installed
    assert any("[test,bench]" in call for call in setup(checkout, "--test"))
    assert setup(checkout) == [] and setup(checkout, "--bench") == [] and setup(checkout, "--test") == []
    with open(checkout / "setup.cfg", "a") as cfg:
        cfg.write("\n# a new dependency, say\n")
    assert any("pip install" in call for call in setup(checkout))
