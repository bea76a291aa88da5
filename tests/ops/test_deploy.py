"""Provision this machine into a staging root, then update, fail a health gate, roll back — serving all along."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from ops_project import run_playbook
from ops_releases import make_release
from ops_site import ANCLORA, Site, cli_env, make_root, psql

# The playbooks do not depend on the application database: one pass of the suite runs these.
pytestmark = pytest.mark.backend_independent

NOT_HERE = "firewall,fail2ban"  # UFW needs netfilter and fail2ban a service manager: check mode only (below)


@pytest.fixture(scope="module")
def deployed():
    """`anclora ops run provision -e version=v1` for real, from the command line."""
    site = Site(make_root())
    site.write_nginx_main_conf()
    for version, healthy in (("v1", True), ("v2", True), ("v3", False)):
        make_release(site.path("anclora_home") / "artifacts", version, healthy)
    env = cli_env(site, f"sqlite:///{site.root}/ops-history.db")
    subprocess.run([ANCLORA, "db", "upgrade"], env=env, check=True, capture_output=True)
    result = subprocess.run([ANCLORA, "ops", "run", "provision", "-e", "version=v1", "--skip-tags", NOT_HERE],
                            env=env, capture_output=True, text=True, timeout=1200)
    yield site, result
    site.cleanup()


@pytest.fixture
def anclora_overrides(deployed):
    return {"ops_vars_files": [str(deployed[0].vars_file)]}


def served_version(site: Site) -> str:
    """The release answering through nginx, as a client sees it."""
    response = httpx.get(f"http://127.0.0.1:{site.http_port}/api/health", timeout=10)
    assert response.status_code == 200
    return response.json()["version"]


def test_provision_serves_the_first_release_through_nginx(deployed):
    site, result = deployed
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])["status"] == "successful"
    assert served_version(site) == "v1"
    pid = int((site.root / "run/anclora.pid").read_text())
    assert os.stat(f"/proc/{pid}").st_uid == pwd.getpwnam("anclora").pw_uid  # the server does not run as root


def test_provision_leaves_the_guide_setup(deployed):
    site, _ = deployed
    sysroot = site.path("anclora_system_root")
    env_file = sysroot / "etc/anclora/anclora.env"
    assert env_file.stat().st_mode & 0o777 == 0o640
    assert f"/{site.name}" in env_file.read_text() and site.vars["anclora_db_password"] in env_file.read_text()
    assert (site.path("anclora_home") / "releases/v1/.env").resolve() == env_file
    ops_vars = sysroot / "etc/anclora/ops-vars.yml"  # what the scheduled runs read
    assert ops_vars.stat().st_mode & 0o777 == 0o640 and f"ANCLORA_OPS_VARS_FILES={ops_vars}" in env_file.read_text()
    assert yaml.safe_load(ops_vars.read_text())["anclora_db_name"] == site.name
    for unit in ("anclora.service", "anclora-worker@.service"):
        assert "ExecStart=" in (sysroot / "etc/systemd/system" / unit).read_text()
    assert "noeviction" in (sysroot / "etc/redis/anclora.conf").read_text()
    assert "net.ipv4.tcp_max_syn_backlog" in (sysroot / "etc/sysctl.d/60-anclora.conf").read_text()
    assert "nofile 65536" in (sysroot / "etc/security/limits.d/60-anclora.conf").read_text()
    assert "copytruncate" in (sysroot / "etc/logrotate.d/anclora").read_text()
    crontab = (sysroot / "etc/cron.d/anclora").read_text()
    assert "ops run backup" in crontab and "schedule=weekly" in crontab and "anclora-health-check" in crontab
    nginx_site = (sysroot / "etc/nginx/sites-available/anclora").read_text()
    assert "proxy_request_buffering off" in nginx_site and "client_max_body_size 500m" in nginx_site
    assert "internal;" in nginx_site
    # PostgreSQL: the role and database exist, pg_hba has the site's block, the shared server still trusts tests
    assert psql(f"SELECT datdba::regrole FROM pg_database WHERE datname = '{site.name}'") == site.name
    assert f"# BEGIN ANCLORA {site.name}" in Path(psql("SHOW hba_file")).read_text()
    assert psql("SELECT 1") == "1"


def test_nginx_streams_uploads_and_limits_other_bodies(deployed):
    site, _ = deployed
    base = f"http://127.0.0.1:{site.http_port}"
    big = b"x" * (2 * 1024 * 1024)
    assert httpx.post(f"{base}/api/auth/login", content=big, timeout=10).status_code == 413  # 1 MiB elsewhere
    assert httpx.post(f"{base}/api/files", content=big, timeout=10).status_code != 413  # 500 MiB on uploads


async def test_provision_again_changes_nothing_and_shows_no_secret(deployed, ops):
    result = await run_playbook(ops, "provision", {"version": "v1"}, skip_tags=NOT_HERE)
    assert result["status"] == "successful", result["message"]
    assert result["stats"]["localhost"].get("changed", 0) == 0
    assert served_version(deployed[0]) == "v1"
    events = json.dumps([event async for event in ops.events(result["id"])])
    assert "Write the application's settings" in events  # the task that handles the password ran...
    assert deployed[0].vars["anclora_db_password"] not in events  # ...and did not show it


async def test_firewall_fail2ban_and_tls_in_check_mode(deployed, ops):
    result = await run_playbook(ops, "provision", {"domain": "converter.example.org", "admin_email": "ops@example.org"},
                       check=True, tags="firewall,fail2ban,tls")
    assert result["status"] == "successful", result["message"]
    assert result["stats"]["localhost"]["changed"] > 0  # what a real run would do...
    assert shutil.which("ufw") is None and shutil.which("certbot") is None  # ...and did not
    assert not (deployed[0].path("anclora_system_root") / "etc/fail2ban/jail.local").exists()


async def test_update_health_gate_and_rollbacks(deployed, ops):
    site = deployed[0]
    home = site.path("anclora_home")

    result = await run_playbook(ops, "update", {"version": "v2"})
    assert result["status"] == "successful", result["message"]
    assert served_version(site) == "v2"
    assert (home / "current").resolve() == home / "releases/v2"
    assert (home / "previous").resolve() == home / "releases/v1"
    assert list(site.path("anclora_backup_dir").glob("*/SHA256SUMS"))  # backed up first

    result = await run_playbook(ops, "update", {"version": "v3", "update_backup_first": False})
    assert result["status"] == "failed"
    assert "rolled back to v2" in result["message"]
    assert served_version(site) == "v2"
    assert (home / "current").resolve() == home / "releases/v2"
    assert (home / "previous").resolve() == home / "releases/v1"
    assert not list(home.glob("*.new"))  # links are replaced by rename, nothing half-made is left

    result = await run_playbook(ops, "rollback")
    assert result["status"] == "successful", result["message"]
    assert served_version(site) == "v1"
