"""A staging site for the operations tests: a root on this machine, its site variables, and clean-up."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import yaml

ANCLORA = str(Path(sys.executable).parent / "anclora")  # the command line, as operators run it
PSQL = ["psql", "-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-tA"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def psql(*sql: str, database: str = "postgres") -> str:
    args = [arg for statement in sql for arg in ("-c", statement)]
    command = PSQL + ["-d", database] + args
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def stop_pidfiles(run_dir: Path) -> None:
    for pidfile in run_dir.glob("*.pid"):
        subprocess.run(["start-stop-daemon", "--stop", "--oknodo", "--quiet", "--retry", "TERM/5/KILL/2",
                        "--remove-pidfile", "--pidfile", str(pidfile)], check=False)


def drop_pg_site(name: str) -> None:
    """Remove a site's database, role and pg_hba block from the shared server."""
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'DROP ROLE IF EXISTS "{name}"')
    hba = Path(psql("SHOW hba_file"))
    text = hba.read_text()
    cleaned = re.sub(rf"# BEGIN ANCLORA {name}\n.*?# END ANCLORA {name}\n", "", text, flags=re.S)
    if cleaned != text:
        hba.write_text(cleaned)
        psql("SELECT pg_reload_conf()")


class Site:
    """A staging root under /tmp (traversable by the service user) and the site variables pointing into it."""

    def __init__(self, root: Path, **overrides):
        self.root = root
        self.name = f"anclora_ops_{uuid.uuid4().hex[:10]}"
        self.app_port, self.http_port = free_port(), free_port()
        self.vars = {
            "anclora_system_root": str(root / "sysroot"),
            "anclora_home": str(root / "home"),
            "anclora_data_dir": str(root / "data"),
            "anclora_log_dir": str(root / "log"),
            "anclora_run_dir": str(root / "run"),
            "anclora_backup_dir": str(root / "backups"),
            "anclora_service_manager": "process",
            "anclora_workers": 0,
            "anclora_port": self.app_port,
            "anclora_http_port": self.http_port,
            "anclora_install_command": "test -x venv/bin/anclora",
            "anclora_health_retries": 5,
            "anclora_db_name": self.name,
            "anclora_db_user": self.name,
            "anclora_db_password": "pw-" + uuid.uuid4().hex,
            "common_apply_sysctl": False,  # /proc/sys is read-only in this container
            "common_apt_update_cache": False,
            "postgresql_tuning_file": str(root / "sysroot/etc/postgresql/conf.d/60-anclora.conf"),
            "nginx_pid_file": str(root / "run/nginx.pid"),
            "nginx_log_dir": str(root / "log"),
            "nginx_acme_root": str(root / "acme"),
            "fail2ban_nginx_log": str(root / "log/anclora_error.log"),
        }
        self.vars.update(overrides)
        self.vars_file = root / "site.yml"
        self.write()

    def write(self) -> None:
        self.vars_file.write_text(yaml.safe_dump(self.vars))

    def path(self, key: str) -> Path:
        return Path(self.vars[key])

    def write_nginx_main_conf(self) -> Path:
        """The main nginx.conf this staging root runs nginx with (the system's stays untouched)."""
        conf = self.root / "sysroot/etc/nginx/nginx.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        temp = self.root / "nginx-tmp"
        temp.mkdir(exist_ok=True)
        conf.write_text(f"""user root;
worker_processes 1;
pid {self.root}/run/nginx.pid;
error_log {self.root}/log/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {self.root}/sysroot/etc/nginx/sites-enabled/*;
}}
""")
        return conf

    def cleanup(self) -> None:
        nginx_pid = self.root / "run/nginx.pid"
        if nginx_pid.exists():
            subprocess.run(["nginx", "-c", str(self.root / "sysroot/etc/nginx/nginx.conf"), "-s", "quit"],
                           check=False, capture_output=True)
        stop_pidfiles(self.root / "run")
        drop_pg_site(self.name)
        shutil.rmtree(self.root, ignore_errors=True)


# the system folders a Debian server's packages have already made (the playbooks write into them)
SYSTEM_FOLDERS = ("etc/sysctl.d", "etc/security/limits.d", "etc/logrotate.d", "etc/cron.d", "etc/systemd/system",
                  "usr/local/bin", "etc/redis", "etc/nginx/sites-available", "etc/nginx/sites-enabled",
                  "etc/postgresql/conf.d", "etc/fail2ban")


def make_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="anclora-ops-", dir="/tmp"))
    root.chmod(0o755)
    for name in ("log", "run") + tuple(f"sysroot/{folder}" for folder in SYSTEM_FOLDERS):
        (root / name).mkdir(parents=True)
    return root


def cli_env(site: Site, database_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANCLORA_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": database_url, "ANCLORA_OPS_VARS_FILES": str(site.vars_file), "LOG_LEVEL": "WARNING",
                "REDIS_URL": ""})
    return env
