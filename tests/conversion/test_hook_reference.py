"""Every hook is documented (docstring in hookspecs.py, every argument in docs/plugins.md) and exercised by a test
or an example plugin that the tests load."""

import inspect
import re
from pathlib import Path

import pytest

from anclora import hookspecs

ROOT = Path(__file__).resolve().parent.parent.parent
SPECS = sorted((name, function) for name, function in vars(hookspecs).items()
               if name.startswith("anclora_") and inspect.isfunction(function))


def reference_sections() -> dict[str, str]:
    text = (ROOT / "docs" / "plugins.md").read_text()
    reference = text.split("## Hook reference", 1)[1]
    return {match.group(1): match.group(2)
            for match in re.finditer(r"^### (anclora_\w+)\(.*?\)[^\n]*\n(.*?)(?=^##)", reference, re.M | re.S)}


def exercising_sources() -> str:
    paths = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("examples/**/*.py")]
    return "\n".join(path.read_text() for path in paths if path.name != Path(__file__).name)


def test_there_are_hooks():
    assert len(SPECS) >= 14


@pytest.mark.parametrize("name,function", SPECS, ids=[name for name, _ in SPECS])
def test_hook_has_a_docstring(name, function):
    doc = inspect.getdoc(function) or ""
    assert len(doc.split()) >= 8, f"{name} needs a docstring saying what it is for and when it is called"
    assert "Called" in doc, f"{name}'s docstring does not say when it is called"
    missing = [argument for argument in inspect.signature(function).parameters if f"`{argument}`" not in doc]
    assert not missing, f"{name}'s docstring does not name its arguments {missing}"


@pytest.mark.parametrize("name,function", SPECS, ids=[name for name, _ in SPECS])
def test_hook_reference_names_every_argument(name, function):
    sections = reference_sections()
    assert name in sections, f"docs/plugins.md has no `### {name}(...)` section"
    arguments = list(inspect.signature(function).parameters)
    missing = [argument for argument in arguments if f"`{argument}`" not in sections[name]]
    assert not missing, f"docs/plugins.md does not describe {name}'s {missing}"
    first_sentence = inspect.getdoc(function).split(".")[0].split("(")[0].strip()
    assert first_sentence in " ".join(sections[name].split()), f"{name}'s reference drifted from its docstring"


@pytest.mark.parametrize("name,function", SPECS, ids=[name for name, _ in SPECS])
def test_hook_is_implemented_or_called_by_a_test(name, function):
    sources = exercising_sources()
    patterns = (f"def {name}(", f"{name} = ", f'"{name}"', f"hook.{name}(")
    assert any(pattern in sources for pattern in patterns), f"no test or example plugin exercises {name}"
