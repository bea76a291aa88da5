"""The test plugin folders under tests/plugins/, and the bundled plugins a test blocks to run only them."""

from pathlib import Path

from anclora.plugins import bundled_plugins_dir

FOLDER = Path(__file__).parent / "plugins"
JOBS = FOLDER / "jobs"  # small, fast converters (a chain, a failing one, slow ones with child processes)
BILLING = FOLDER / "billing"  # priced converters
RAISING = FOLDER / "raising"  # a third-party listener whose every lifecycle hook raises
FAULTS = FOLDER / "faults"  # a converter that hangs on its first run, for killing the server mid-conversion
NODES = FOLDER / "nodes"  # a converter held at 50 % until the test lets it go, naming the process that ran it
PDFA = FOLDER / "pdfa"  # a converter that claims PDF/A and writes a plain PDF


def bundled_plugin_names() -> list[str]:
    folder = bundled_plugins_dir()
    return sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_")) if folder else []
