"""The `anclora` command's manners: a reader that goes away ends a listing quietly, files it writes follow the
caller's umask, and every command's --help ends with examples."""

import os
import stat
import subprocess
import sys

import pypandoc
import pytest

from anclora.cli import EXAMPLES, build_parser, commands
from anclora.testing import TEST_JWT_SECRET

LISTINGS = [["formats"], ["plugins", "--json"], ["config-sample"], ["ops", "list"]]


def environment(database_url: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANCLORA_", "DATABASE_URL"))}
    return {**env, "DATABASE_URL": database_url, "JWT_SECRET_KEY": TEST_JWT_SECRET, "LOG_LEVEL": "WARNING",
            "ANCLORA_PLUGINS_ENTRYPOINTS": "false"}


@pytest.mark.parametrize("command", LISTINGS, ids=" ".join)
def test_a_listing_ends_quietly_when_its_reader_has_gone(command, tmp_path, anclora_database_url):
    """As `anclora formats | head` when head has read its lines: the pipe is closed before the first write."""
    process = subprocess.Popen([sys.executable, "-m", "anclora", *command], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=environment(anclora_database_url))
    process.stdout.close()
    _, errors = process.communicate(timeout=120)
    assert process.returncode == 0 and errors == b"", errors.decode()


def test_a_converted_file_follows_the_callers_umask(tmp_path, anclora_database_url):
    pypandoc.convert_text("# Report\n", "docx", format="md", outputfile=str(tmp_path / "report.docx"))
    done = subprocess.run([sys.executable, "-m", "anclora", "convert", "report.docx", "--to", "pdf"], cwd=tmp_path,
                          env=environment(anclora_database_url), capture_output=True, text=True, timeout=180,
                          preexec_fn=lambda: os.umask(0o027))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((tmp_path / "report.pdf").stat().st_mode) == 0o640  # engines write 0600 for themselves


def test_every_command_has_examples_in_its_help():
    named = dict(commands(build_parser()))
    assert set(named) == set(EXAMPLES)  # (a new command needs its examples)
    for name, command in named.items():
        examples = command.format_help().split("examples:\n", 1)[1]
        assert f"anclora {name.split()[0]}" in examples, name
    shown = subprocess.run([sys.executable, "-m", "anclora", "ops", "run", "--help"], capture_output=True,
                           text=True, timeout=60)
    assert "examples:\n  anclora ops run backup\n" in shown.stdout
