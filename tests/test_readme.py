"""The README's "Try it" block, run as written against `anclora serve --migrate` on its defaults (as
`scripts/serve.sh` starts it): every command succeeds and answers what its `# →` line says."""

import re
import subprocess
from pathlib import Path

import pypandoc
import pytest

from server_process import ServerProcess

README = Path(__file__).resolve().parent.parent / "README.md"
README_URL = "http://127.0.0.1:5000"


def try_it_block() -> str:
    text = README.read_text()
    section = text[text.index("## Try it"):]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def commands(block: str) -> list[tuple[str, str | None]]:
    """(command, what its `# →` line expects or None), continuation lines joined."""
    found: list[list] = []
    pending = ""
    for line in block.splitlines():
        if line.startswith("# →"):
            found[-1][1] = line[len("# →"):].strip()
        elif pending or (line.strip() and not line.startswith("#")):
            pending += line + "\n"
            if not line.endswith("\\"):
                found.append([pending, None])
                pending = ""
    return [(command, expected) for command, expected in found]


def shows(expected: str, output: str) -> bool:
    """Whether `output` shows each `…`-separated piece of `expected` in order (whitespace aside)."""
    squeezed = re.sub(r"\s+", "", output)
    position = 0
    for piece in re.sub(r"\s+", "", expected).split("…"):
        position = squeezed.find(piece, position)
        if position < 0:
            return False
        position += len(piece)
    return True


@pytest.fixture
def server(tmp_path, anclora_database_url):
    process = ServerProcess(tmp_path, anclora_database_url)  # no setting but the paths and the port: defaults
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def test_the_try_it_block_works_as_written(server, tmp_path):
    steps = commands(try_it_block())
    assert sum(expected is not None for _, expected in steps) >= 8
    workdir = tmp_path / "user"
    workdir.mkdir()
    pypandoc.convert_text("# Quarterly report\n\nAll good.\n", "docx", format="md",
                          outputfile=str(workdir / "report.docx"))
    script = "set -euo pipefail\n" + "".join(
        f"printf '\\n@@@ {number}\\n'\n{command.replace(README_URL, server.url)}"
        for number, (command, _) in enumerate(steps))
    result = subprocess.run(["bash", "-c", script], cwd=workdir, capture_output=True, text=True, timeout=150)
    outputs = re.split(r"\n@@@ \d+\n", "\n" + result.stdout)[1:]
    assert result.returncode == 0, f"{steps[len(outputs) - 1][0]} failed: {result.stderr}"
    for (command, expected), output in zip(steps, outputs):
        if expected is not None:
            assert shows(expected, output), f"{command}answered:\n{output[:500]}\nnot:\n{expected}"
