"""The bundled playbooks: their catalog, the validation of admin-supplied variables, and the `!unsafe` vars file.

jsonschema and PyYAML are imported where they are used: a serving process that never runs a playbook does not
carry them.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

from ..errors import NotFound, ValidationFailed

BUNDLED_DIR = Path(__file__).resolve().parent.parent.parent / "playbooks"
CATALOG_FILE = "catalog.yml"


@dataclasses.dataclass(frozen=True)
class Playbook:
    name: str
    summary: str
    file: str
    variables: dict[str, Any]  # JSON Schema of each variable, by name
    required: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()  # variables never stored or shown

    @property
    def schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": self.variables, "required": list(self.required),
                "additionalProperties": False}

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "summary": self.summary, "variables": self.variables,
                "required": list(self.required), "secrets": list(self.secrets)}

    def validate(self, extravars: dict[str, Any]) -> dict[str, Any]:
        """The variables if they match the schema; ValidationFailed naming every problem otherwise."""
        import jsonschema

        validator = jsonschema.Draft202012Validator(self.schema)
        problems = [{"variable": ".".join(map(str, error.absolute_path)) or None, "problem": error.message}
                    for error in validator.iter_errors(extravars)]
        if problems:
            raise ValidationFailed(f"Invalid variables for playbook {self.name!r}.", details=problems)
        return extravars

    def redacted(self, extravars: dict[str, Any]) -> dict[str, Any]:
        return {name: ("***" if name in self.secrets else value) for name, value in extravars.items()}

    def coerce(self, name: str, text: str) -> Any:
        """A `-e name=value` command-line value as the type the schema declares."""
        kind = self.variables.get(name, {}).get("type")
        try:
            if kind == "integer":
                return int(text)
            if kind == "boolean":
                return {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}[text.lower()]
        except (ValueError, KeyError):
            pass  # left as text, so validation names the variable and the expected type
        return text


@functools.lru_cache(maxsize=8)
def load_catalog(project_dir: Path = BUNDLED_DIR) -> dict[str, Playbook]:
    """The playbooks an administrator may run, read from the project's catalog.yml."""
    import jsonschema
    import yaml

    raw = yaml.safe_load((project_dir / CATALOG_FILE).read_text(encoding="utf-8"))
    catalog = {}
    for name, entry in raw.items():
        variables = entry.get("variables") or {}
        jsonschema.Draft202012Validator.check_schema({"type": "object", "properties": variables})
        catalog[name] = Playbook(
            name=name, summary=entry["summary"], file=entry.get("file", f"{name}.yml"), variables=variables,
            required=tuple(entry.get("required", ())), secrets=tuple(entry.get("secrets", ())))
    return catalog


def project_dir(settings) -> Path:
    """The Ansible project the operations run: `ops_playbooks_dir`, or the bundled one."""
    return Path(settings.ops_playbooks_dir or BUNDLED_DIR).resolve()


def find(project_dir: Path, name: str) -> Playbook:
    try:
        return load_catalog(project_dir)[name]
    except KeyError:
        raise NotFound(f"No playbook named {name!r}.") from None


def write_unsafe_vars(path: Path, extravars: dict[str, Any]) -> None:
    """A vars file for `-e @path` (mode 0600) in which every string has Ansible's `!unsafe` tag, so no value
    supplied by an admin is ever templated."""
    import yaml

    class UnsafeDumper(yaml.SafeDumper):
        pass

    UnsafeDumper.add_representer(str, lambda dumper, value: dumper.represent_scalar("!unsafe", value, style='"'))
    path.touch(mode=0o600)
    path.write_text(yaml.dump(extravars, Dumper=UnsafeDumper, default_flow_style=False), encoding="utf-8")
