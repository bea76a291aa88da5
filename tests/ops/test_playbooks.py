"""The bundled Ansible project and the container files stay valid: syntax, ansible-lint, catalog, Docker files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from anclora.ops.playbooks import BUNDLED_DIR, load_catalog

# The playbooks do not depend on the application database: one pass of the suite runs these.
pytestmark = pytest.mark.backend_independent

BIN = Path(sys.executable).parent
REPO = BUNDLED_DIR.parent


def test_every_playbook_is_in_the_catalog_and_passes_syntax_check():
    catalog = load_catalog()
    files = sorted(path.name for path in BUNDLED_DIR.glob("*.yml") if path.name != "catalog.yml")
    assert sorted(playbook.file for playbook in catalog.values()) == files
    assert set(catalog) == {"provision", "update", "rollback", "backup", "restore", "maintenance"}
    result = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "inventory/localhost.ini", *files],
                            cwd=BUNDLED_DIR, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_playbooks_pass_ansible_lint_production_profile():
    result = subprocess.run([str(BIN / "ansible-lint"), "--nocolor"], cwd=BUNDLED_DIR, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


def test_compose_nginx_site_is_the_template_rendered(tmp_path):
    rendered = tmp_path / "compose.conf"
    subprocess.run([str(BIN / "ansible"), "localhost", "-c", "local", "-i", "localhost,",
                    "-e", f"@{REPO / 'config/nginx/compose.yml'}", "-e", f"ansible_python_interpreter={sys.executable}",
                    "-m", "ansible.builtin.template",
                    "-a", f"src={REPO / 'config/nginx/anclora.conf.j2'} dest={rendered}"],
                   check=True, capture_output=True)
    assert rendered.read_text() == (REPO / "config/nginx/compose.conf").read_text()


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [tuple(line.split(None, 1)) for line in lines]


def test_dockerfile_builds_from_what_the_repository_holds():
    instructions = _dockerfile_instructions()
    known = {"FROM", "RUN", "CMD", "COPY", "ENV", "WORKDIR", "USER", "EXPOSE", "VOLUME", "HEALTHCHECK", "ARG", "LABEL"}
    assert instructions[0][0] == "FROM" and {kind for kind, _ in instructions} <= known
    ignored = [line for line in (REPO / ".dockerignore").read_text().splitlines() if not line.startswith("#")]
    for kind, args in instructions:
        if kind == "COPY":
            *sources, _ = args.split()
            for source in sources:
                assert (REPO / source).exists() and source.rstrip("/") not in ignored, source
    cmd = dict(instructions)["CMD"]
    assert json.loads(cmd)[0] == "anclora"
    assert ("USER", "anclora") in instructions  # never runs as root


def test_compose_file_is_complete_and_safe():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"app", "worker", "db", "redis", "nginx"}
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert (REPO / source).exists() if source.startswith(".") else source in compose["volumes"], volume
        for dependency in service.get("depends_on", []):
            assert dependency in services
    assert services["app"]["command"][:2] == ["anclora", "serve"]
    assert "noeviction" in services["redis"]["command"]
    assert re.search(r"\$\{POSTGRES_PASSWORD:\?", (REPO / "docker-compose.yml").read_text())  # no default password
    assert "5000" not in json.dumps(services["app"].get("ports", []))  # only nginx is published


def test_ops_list_needs_no_database(tmp_path):
    missing = tmp_path / "never" / "anclora.db"  # a database that does not exist, in a folder that does not either
    result = subprocess.run([sys.executable, "-m", "anclora", "ops", "list"], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{missing}",
                                 "UPLOAD_FOLDER": str(tmp_path / "uploads")}, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.splitlines() if line and not line.startswith(" ")]
    assert listed == list(load_catalog())
    assert not missing.parent.exists()
